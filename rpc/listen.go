package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"gosupervisor/config"
)

// ErrAddressInUse is the startup error when another program already
// serves a configured socket or port; the text is the reference's.
var ErrAddressInUse = errors.New("Another program is already listening on a port that one of our HTTP servers is configured to use.  Shut this program down first before starting supervisord.")

// ListenUnix creates the socket of a [unix_http_server] the way the
// reference does, reporting a stale socket on stderr. See
// ListenUnixReport.
func ListenUnix(cfg config.UnixHTTPServer) (net.Listener, error) {
	return ListenUnixReport(cfg, os.Stderr)
}

// ListenUnixReport binds "<file>.<pid>", applies the mode (default
// 0700), and hard-links it to the configured name, so the final name
// never points at a socket with the wrong mode. If the name exists it
// probes it: a live server is ErrAddressInUse; a dead one is reported to
// report as "Unlinking stale socket <file>", removed, and the link
// retried. Ownership is changed last. Closing the listener removes the
// socket file if it is still ours.
func ListenUnixReport(cfg config.UnixHTTPServer, report io.Writer) (net.Listener, error) {
	mode := cfg.Chmod
	if mode == 0 {
		mode = 0o700
	}
	tmp := cfg.File + "." + strconv.Itoa(os.Getpid())
	_ = os.Remove(tmp)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, openError(err)
	}
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Chmod(tmp, os.FileMode(mode)); err != nil {
		return fail(openError(err))
	}
	for attempt := 0; ; attempt++ {
		err := os.Link(tmp, cfg.File)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || attempt > 0 {
			return fail(openError(err))
		}
		if socketAlive(cfg.File) {
			return fail(ErrAddressInUse)
		}
		fmt.Fprintf(report, "Unlinking stale socket %s\n", cfg.File)
		if err := os.Remove(cfg.File); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fail(openError(err))
		}
	}
	os.Remove(tmp)
	if cfg.ChownUID >= 0 || cfg.ChownGID >= 0 {
		if err := os.Chown(cfg.File, cfg.ChownUID, cfg.ChownGID); err != nil {
			ln.Close()
			os.Remove(cfg.File)
			return nil, openError(err)
		}
	}
	var ino uint64
	if fi, err := os.Stat(cfg.File); err == nil {
		ino = inode(fi)
	}
	return &unixListener{UnixListener: ln, path: cfg.File, ino: ino}, nil
}

// socketAlive reports whether something accepts connections on path.
func socketAlive(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// unixListener removes its socket file on Close, unless another server
// has replaced it meanwhile.
type unixListener struct {
	*net.UnixListener
	path string
	ino  uint64
	once sync.Once
}

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if fi, statErr := os.Stat(l.path); statErr == nil && inode(fi) == l.ino {
			os.Remove(l.path)
		}
	})
	return err
}

// ListenInet opens an [inet_http_server] port: IPv4 only as in the
// reference, all interfaces when Host is empty. Go listeners already
// set SO_REUSEADDR.
func ListenInet(cfg config.InetHTTPServer) (net.Listener, error) {
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp4", addr)
	if err != nil {
		return nil, openError(err)
	}
	return ln, nil
}

// openError words a listen failure as the reference's startup error.
func openError(err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return fmt.Errorf("Cannot open an HTTP server: %w", err)
	}
	if errno == syscall.EADDRINUSE {
		return ErrAddressInUse
	}
	name := errnoNames[errno]
	if name == "" {
		name = strconv.Itoa(int(errno))
	}
	return fmt.Errorf("Cannot open an HTTP server: socket.error reported errno.%s (%d)", name, int(errno))
}

var errnoNames = map[syscall.Errno]string{
	syscall.EACCES:        "EACCES",
	syscall.EPERM:         "EPERM",
	syscall.ENOENT:        "ENOENT",
	syscall.ENOTDIR:       "ENOTDIR",
	syscall.EROFS:         "EROFS",
	syscall.ENAMETOOLONG:  "ENAMETOOLONG",
	syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL",
	syscall.EINVAL:        "EINVAL",
	syscall.ENOSPC:        "ENOSPC",
}

// NewServer wraps h in an http.Server with bounds that do not break the
// endless log streams: headers and request bodies must arrive within
// limits, idle keep-alive connections close, and writes are bounded per
// write by the handler (WriteTimeout stays 0 for the streams). Request
// contexts derive from ctx, so cancelling it abandons waiting calls.
func NewServer(ctx context.Context, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		// The reference drops idle connections after 30 minutes; clients
		// that keep one proxy (event listeners) do not reconnect on
		// their own, so we wait as long.
		IdleTimeout:    30 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		BaseContext:    func(net.Listener) context.Context { return ctx },
		ConnContext:    ConnContext,
	}
}

func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
