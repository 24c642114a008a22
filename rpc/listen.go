package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/config"
)

// ErrAddressInUse is the startup error when another program already
// serves a configured socket or port; the text is the reference's.
var ErrAddressInUse = errors.New("Another program is already listening on a port that one of our HTTP servers is configured to use.  Shut this program down first before starting supervisord.")

// UnixOptions are the optional settings of ListenUnix.
type UnixOptions struct {
	// Report receives "Unlinking stale socket <file>" lines, as the
	// reference writes them on stderr; nil discards them.
	Report io.Writer
	// Bound, when set, is called with the temporary path the socket was
	// bound at, before its mode and owner are set and before it takes
	// its name: tests hold the daemon there to prove that nobody else can
	// connect yet.
	Bound func(path string)
}

// maxSunPath is the longest path bind(2) takes for a unix socket
// (sun_path is 108 bytes with the terminating NUL).
const maxSunPath = 107

// ListenUnix creates the socket of a [unix_http_server] so that no other
// user can ever connect with wider rights than chmod= and chown= give.
//
// The socket is bound inside a private directory made beside the
// configured name (mode 0700, owned by us, random name), so nobody else
// can reach it while it has the umask's mode and our ownership; its mode
// (default 0700) and owner are set there, through the directory's
// descriptor so no name another user controls is followed, and only then
// is it hard-linked to the configured name. The name thus never points at
// a socket with the wrong mode or owner, at no instant. If the name
// exists it is probed as the reference does: a live server is
// ErrAddressInUse; a dead one is reported as "Unlinking stale socket
// <file>", removed, and the link retried once. Closing the listener
// removes the socket file if it is still ours.
func ListenUnix(cfg config.UnixHTTPServer, opts UnixOptions) (*Listener, error) {
	report := opts.Report
	if report == nil {
		report = io.Discard
	}
	mode := cfg.Chmod
	if mode == 0 {
		mode = 0o700
	}
	priv, err := newPrivateDir(filepath.Dir(cfg.File))
	if err != nil {
		return nil, openError(err)
	}
	defer priv.remove()
	tmp := filepath.Join(priv.name, privateSocket)
	if len(tmp) > maxSunPath {
		// The configured name fits but the temporary one does not:
		// reach the directory through our descriptor instead.
		tmp = fmt.Sprintf("/proc/self/fd/%d/%s", priv.fd, privateSocket)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, openError(err)
	}
	ln.SetUnlinkOnClose(false)
	if opts.Bound != nil {
		opts.Bound(tmp)
	}
	ino, err := priv.prepare(mode, cfg.ChownUID, cfg.ChownGID)
	if err != nil {
		ln.Close()
		return nil, openError(err)
	}
	for attempt := 0; ; attempt++ {
		err := unix.Linkat(priv.fd, privateSocket, unix.AT_FDCWD, cfg.File, 0)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EEXIST) || attempt > 0 {
			ln.Close()
			return nil, openError(err)
		}
		if SocketAlive(cfg.File) {
			ln.Close()
			return nil, ErrAddressInUse
		}
		fmt.Fprintf(report, "Unlinking stale socket %s\n", cfg.File)
		if err := os.Remove(cfg.File); err != nil && !errors.Is(err, os.ErrNotExist) {
			ln.Close()
			return nil, openError(err)
		}
	}
	u := &unixListener{UnixListener: ln, path: cfg.File, ino: ino}
	return newListener(u, u), nil
}

// privateSocket is the socket's name inside its private directory.
const privateSocket = "s"

// privateDir is a directory only we can enter, where a socket is made
// ready before it takes its public name.
type privateDir struct {
	name string
	fd   int
}

// newPrivateDir makes a directory with an unpredictable name in parent
// and opens it. It must be ours, not a directory or link another user put
// at that name in a writable parent; mkdir's mode is masked by the umask,
// so the descriptor sets 0700 explicitly.
func newPrivateDir(parent string) (*privateDir, error) {
	name, err := os.MkdirTemp(parent, ".sock")
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open(name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(name)
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	p := &privateDir{name: name, fd: fd}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: name, Err: err}
	}
	if int(st.Uid) != os.Geteuid() {
		unix.Close(fd) // not ours: leave it alone
		return nil, fmt.Errorf("%s: replaced by another user's directory", name)
	}
	if err := unix.Fchmod(fd, 0o700); err != nil {
		p.remove()
		return nil, &os.PathError{Op: "chmod", Path: name, Err: err}
	}
	return p, nil
}

// prepare gives the socket in the directory its mode and owner (-1 keeps
// an id) without following links, checks that it is a socket, and
// returns its inode number.
func (p *privateDir) prepare(mode uint32, uid, gid int) (uint64, error) {
	if err := unix.Fchmodat(p.fd, privateSocket, mode, 0); err != nil {
		return 0, &os.PathError{Op: "chmod", Path: p.name, Err: err}
	}
	if uid >= 0 || gid >= 0 {
		if err := unix.Fchownat(p.fd, privateSocket, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return 0, &os.PathError{Op: "chown", Path: p.name, Err: err}
		}
	}
	var st unix.Stat_t
	if err := unix.Fstatat(p.fd, privateSocket, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return 0, &os.PathError{Op: "stat", Path: p.name, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return 0, fmt.Errorf("%s: not our socket", p.name)
	}
	return st.Ino, nil
}

// remove deletes the socket's temporary name and the directory.
func (p *privateDir) remove() {
	_ = unix.Unlinkat(p.fd, privateSocket, 0)
	_ = unix.Close(p.fd)
	_ = unix.Rmdir(p.name)
}

// SocketAlive reports whether something accepts connections on the unix
// socket at path (a server a new one must not replace).
func SocketAlive(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// unixListener removes its socket file on Close, unless another server
// has replaced it meanwhile or the socket is handed over (keep).
type unixListener struct {
	*net.UnixListener
	path string
	ino  uint64
	once sync.Once
	keep atomic.Bool
}

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if l.keep.Load() {
			return
		}
		if fi, statErr := os.Stat(l.path); statErr == nil && inode(fi) == l.ino {
			os.Remove(l.path)
		}
	})
	return err
}

// ListenInet opens an [inet_http_server] port: IPv4 only as in the
// reference, all interfaces when Host is empty. Go listeners already
// set SO_REUSEADDR.
func ListenInet(cfg config.InetHTTPServer) (*Listener, error) {
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp4", addr)
	if err != nil {
		return nil, openError(err)
	}
	return newListener(ln, nil), nil
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

func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
