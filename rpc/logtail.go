package rpc

import (
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"gosupervisor/logrot"
)

func (h *handler) serveProcessTail(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Method != http.MethodGet {
		httpError(w, http.StatusBadRequest)
		return
	}
	namespec, channel, ok := strings.Cut(rest, "/")
	if !ok {
		channel = "stdout"
	}
	if channel != "stdout" && channel != "stderr" {
		httpError(w, http.StatusNotFound)
		return
	}
	if _, proc := splitNamespec(namespec); proc == "" || namespec == "" {
		httpError(w, http.StatusNotFound)
		return
	}
	path, err := h.backend.LogFile(namespec, channel)
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
	path := h.backend.MainLogPath()
	if path == "" {
		httpError(w, http.StatusNotFound)
		return
	}
	h.streamLog(w, r, path, false)
}

// streamLog answers a chunked response that never ends by itself (see
// logrot.Follow): the end of the log, then whatever is appended. Each
// write has WriteTimeout to complete, so a client that stops reading is
// dropped; the stream ends when the client goes away.
func (h *handler) streamLog(w http.ResponseWriter, r *http.Request, path string, noProxyBuffering bool) {
	fi, err := os.Stat(path)
	if err != nil {
		httpError(w, http.StatusNotFound)
		return
	}
	select {
	case h.tails <- struct{}{}:
		defer func() { <-h.tails }()
	default:
		httpError(w, http.StatusServiceUnavailable)
		return
	}
	hdr := w.Header()
	hdr.Set("Last-Modified", fi.ModTime().UTC().Format(http.TimeFormat))
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
	dw := &deadlineWriter{w: w, rc: rc, timeout: h.opts.WriteTimeout}
	_ = logrot.Follow(r.Context(), path, dw, func() { _ = rc.Flush() })
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
