package rpc

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/logrot"
)

func (h *handler) serveProcessTail(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Method != http.MethodGet {
		httpError(w, http.StatusBadRequest)
		return
	}
	namespec, chName, ok := strings.Cut(rest, "/")
	channel := protocol.Stdout
	if ok {
		if channel, ok = protocol.ParseChannel(chName); !ok {
			httpError(w, http.StatusNotFound)
			return
		}
	}
	if _, proc := splitNamespec(namespec); proc == "" || namespec == "" {
		httpError(w, http.StatusNotFound)
		return
	}
	path, err := h.logFiles.LogFile(namespec, channel)
	if err != nil || path == "" {
		httpError(w, http.StatusNotFound)
		return
	}
	h.streamLog(w, r, path, true)
}

func (h *handler) serveMainTail(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		httpError(w, http.StatusBadRequest)
		return
	}
	path := h.logFiles.MainLogPath()
	if path == "" {
		httpError(w, http.StatusNotFound)
		return
	}
	h.streamLog(w, r, path, false)
}

// streamLog answers a chunked response that never ends by itself (see
// logrot.FollowLog): the end of the log, then whatever is appended. Each
// write has WriteTimeout to complete, so a client that stops reading is
// dropped; the stream ends when the client goes away.
func (h *handler) streamLog(w http.ResponseWriter, r *http.Request, path string, noProxyBuffering bool) {
	// The time and the stream come from the file opened here, by the
	// links rule: a path another user can swap is never stat'ed apart.
	log, err := logrot.OpenLog(path)
	if err != nil {
		httpError(w, http.StatusNotFound)
		return
	}
	defer log.Close() // FollowLog closes it too; this covers the early returns
	select {
	case h.tails <- struct{}{}:
		defer func() { <-h.tails }()
	default:
		httpError(w, http.StatusServiceUnavailable)
		return
	}
	hdr := w.Header()
	hdr.Set("Last-Modified", log.ModTime().UTC().Format(http.TimeFormat))
	hdr.Set("Content-Type", "text/plain;charset=utf-8")
	if noProxyBuffering {
		hdr.Set("X-Accel-Buffering", "no")
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	var handover atomic.Bool
	if end := h.opts.EndStreams; end != nil {
		defer context.AfterFunc(end, func() { handover.Store(true); cancel() })()
	}
	if conn, ok := r.Context().Value(connKey{}).(net.Conn); ok {
		stop := watchHangup(conn, cancel, &handover)
		defer stop()
	}
	dw := &deadlineWriter{w: w, rc: rc, timeout: h.opts.WriteTimeout}
	_ = logrot.FollowLog(ctx, log, dw, func() { _ = rc.Flush() })
}

// connKey carries a request's connection in its context; see ConnContext.
type connKey struct{}

// ConnContext is for http.Server.ConnContext (NewServer sets it): it lets
// log streams notice a client that hangs up while the log is quiet.
// net/http alone may not: supervisorctl sends two bytes after its
// request, the server's watch for end-of-input stops at the first, and a
// stream with nothing to write would then live on after its client.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// watchHangup reads the connection of an endless response until the
// client hangs up, then calls cancel. Nothing the client sends can
// matter any more: the response never ends, so no later request on this
// connection will be served. stop ends the watch and closes the
// connection, which the stream's end has made useless; when clean is set
// (a handover ended the stream) it closes only the reading side, so the
// client gets the response's end before the connection closes.
func watchHangup(conn net.Conn, cancel context.CancelFunc, clean *atomic.Bool) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf [512]byte
		for {
			if _, err := conn.Read(buf[:]); err != nil {
				cancel()
				return
			}
		}
	}()
	return func() {
		_ = conn.SetReadDeadline(time.Now())
		<-done
		if cr, ok := conn.(interface{ CloseRead() error }); ok && clean.Load() {
			_ = cr.CloseRead()
			return
		}
		_ = conn.Close()
	}
}

// deadlineWriter gives every write to a client its own deadline.
type deadlineWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.w.Write(p)
}
