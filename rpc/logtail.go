package rpc

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"
)

// tailHead is how much of the existing log a stream starts with.
const tailHead = 1024

// truncatedNotice is written when a followed log shrinks.
const truncatedNotice = "==> File truncated <==\n"

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

// streamLog answers a chunked response that never ends by itself: the
// last tailHead bytes of path, then whatever is appended, checked every
// TailInterval. It reopens the file when its inode changes (rotation)
// and says so when the file shrinks. It returns when the client goes
// away, a write times out, or the request's context ends.
func (h *handler) streamLog(w http.ResponseWriter, r *http.Request, path string, noProxyBuffering bool) {
	f, ino, err := openFollow(path)
	if err != nil {
		httpError(w, http.StatusNotFound)
		return
	}
	defer func() { f.Close() }()
	select {
	case h.tails <- struct{}{}:
		defer func() { <-h.tails }()
	default:
		httpError(w, http.StatusServiceUnavailable)
		return
	}
	fi, err := f.Stat()
	if err != nil {
		httpError(w, http.StatusNotFound)
		return
	}
	hdr := w.Header()
	hdr.Set("Last-Modified", fi.ModTime().UTC().Format(http.TimeFormat))
	hdr.Set("Content-Type", "text/plain;charset=utf-8")
	if noProxyBuffering {
		hdr.Set("X-Accel-Buffering", "no")
	}
	rc := http.NewResponseController(w)
	// A stream outlives the server's ReadTimeout; only the client leaving
	// (or a stalled write) ends it.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}

	pos := max(fi.Size()-tailHead, 0)
	ticker := time.NewTicker(h.opts.TailInterval)
	defer ticker.Stop()
	buf := make([]byte, 32<<10)
	ctx := r.Context()
	for {
		if st, err := os.Stat(path); err == nil && inode(st) != ino {
			if nf, nino, err := openFollow(path); err == nil {
				f.Close()
				f, ino, pos = nf, nino, 0
			}
		}
		if !h.sendGrowth(ctx, w, rc, f, &pos, buf) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// sendGrowth writes what f holds past *pos; false means stop streaming.
func (h *handler) sendGrowth(ctx context.Context, w io.Writer, rc *http.ResponseController, f *os.File, pos *int64, buf []byte) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	size := fi.Size()
	wrote := false
	if size < *pos {
		*pos = 0
		_ = rc.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
		if _, err := io.WriteString(w, truncatedNotice); err != nil {
			return false
		}
		wrote = true
	}
	for *pos < size && ctx.Err() == nil {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), size-*pos)], *pos)
		if n > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
			if _, werr := w.Write(buf[:n]); werr != nil {
				return false
			}
			*pos += int64(n)
			wrote = true
		}
		if err != nil {
			break
		}
	}
	if wrote {
		return rc.Flush() == nil
	}
	return true
}

func openFollow(path string) (*os.File, uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, inode(fi), nil
}

func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
