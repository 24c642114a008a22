package webui

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"gosupervisor/internal/protocol"
	"gosupervisor/logrot"
	"gosupervisor/supervisord/engine"
)

const (
	// minTailBytes is the least the tail page shows, as in the reference.
	minTailBytes = 1024
	// maxTailBytes bounds ?limit= so one request cannot pull a whole
	// multi-gigabyte log into memory.
	maxTailBytes = 4 << 20
)

// tailPage is what templates/tail.html renders.
type tailPage struct {
	Version   string
	Name      string // "" when no processname was given
	Channel   string // "stdout" (the reference's only choice) or "stderr"
	Limit     int
	Text      string
	Following bool  // the log was read: the page may follow it
	Offset    int64 // where following continues
	HasInfo   bool
	Info      processRow
	LimitList []int
}

// serveTail renders the last bytes of a process's stdout (or stderr) log.
func (h *Handler) serveTail(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	page := tailPage{Version: h.version, Limit: tailLimit(formValue(r, "limit")),
		LimitList: []int{minTailBytes, 16 << 10, 64 << 10, 1 << 20}}
	page.Name = formValue(r, "processname")
	// channel=stderr is our addition: the reference shows stdout only.
	ch := channelOf(r)
	page.Channel = ch.String()
	if page.Name == "" {
		page.Text = "No process name found"
		h.render(w, "tail.html", page)
		return
	}
	if info, err := h.backend.Process(page.Name); err == nil {
		page.HasInfo = true
		page.Info = rows([]engine.ProcessStatus{info}, h.now().Unix())[0]
	}
	piece, err := h.readLog(page.Name, ch, -1, page.Limit)
	if err != nil {
		page.Text = h.tailMessage(page.Name, err)
	} else {
		page.Text, page.Following, page.Offset = piece.Text, true, piece.End
	}
	h.render(w, "tail.html", page)
}

// tailLimit is how many bytes to show: the reference reads at least 1024
// bytes and ignores anything but a plain number.
func tailLimit(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || strings.TrimLeft(s, "0123456789") != "" || n < minTailBytes {
		return minTailBytes
	}
	return min(n, maxTailBytes)
}

// errNoLog: the process has no such log file (none configured, or not
// created yet). The reference's page says "No file for <name>".
var errNoLog = errors.New("no log file")

// logPiece is part of a log file, as text a page can show.
type logPiece struct {
	Text  string
	Start int64 // file offset of the first byte shown
	End   int64 // file offset right after the last byte shown
}

// readLog reads the log of name's channel from offset from to its end.
// When from is negative, past the end (the file was truncated or
// rotated) or more than limit bytes behind, it reads the last limit bytes
// instead, so the caller can tell a reset by Start != from. A character
// cut by the end of the file is left for the next read.
func (h *Handler) readLog(name string, ch protocol.Channel, from int64, limit int) (logPiece, error) {
	path, err := h.backend.LogFile(name, ch)
	if err != nil {
		return logPiece{}, err
	}
	if path == "" {
		return logPiece{}, errNoLog
	}
	// Size and bytes come from the one descriptor opened by the links
	// rule: a path another user can swap is never stat'ed apart.
	log, err := logrot.OpenLog(path)
	if errors.Is(err, logrot.ErrNoFile) {
		return logPiece{}, errNoLog
	}
	if err != nil {
		return logPiece{}, fmt.Errorf("log of %s: %w", name, err)
	}
	defer log.Close()
	size := log.Size()
	start := from
	if from < 0 || from > size || size-from > int64(limit) {
		start = max(size-int64(limit), 0)
	}
	data, err := log.ReadRange(start, size-start)
	if err != nil {
		return logPiece{}, fmt.Errorf("log of %s: %w", name, err)
	}
	data = data[:completeUTF8(data)]
	return logPiece{Text: displayText(data), Start: start, End: start + int64(len(data))}, nil
}

// tailMessage is what the tail page shows instead of a log it cannot
// read, worded as the reference does.
func (h *Handler) tailMessage(name string, err error) string {
	if errors.Is(err, errNoLog) {
		return "No file for " + name
	}
	return "ERROR: " + h.unexpectedFault(err)
}

// completeUTF8 is the length of data without a multi-byte character cut
// short at its end.
func completeUTF8(data []byte) int {
	for i := len(data) - 1; i >= 0 && i >= len(data)-utf8.UTFMax; i-- {
		if utf8.RuneStart(data[i]) {
			if utf8.FullRune(data[i:]) {
				return len(data)
			}
			return i
		}
	}
	return len(data)
}

// serveFollow answers the tail page's follow mode with the log's text
// from ?offset= on, so a following page downloads only what is new.
// X-Log-Offset is where to continue; X-Log-Reset says the text replaces
// what the page shows (the log was truncated or rotated, or the page fell
// more than ?limit= bytes behind).
func (h *Handler) serveFollow(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	name := formValue(r, "processname")
	if name == "" {
		http.Error(w, "No process name found", http.StatusBadRequest)
		return
	}
	offset, err := strconv.ParseInt(formValue(r, "offset"), 10, 64)
	if err != nil {
		offset = -1
	}
	piece, err := h.readLog(name, channelOf(r), offset, tailLimit(formValue(r, "limit")))
	if err != nil {
		http.Error(w, h.tailMessage(name, err), http.StatusNotFound)
		return
	}
	hdr := w.Header()
	setNoCache(hdr)
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Log-Offset", strconv.FormatInt(piece.End, 10))
	if piece.Start != offset {
		hdr.Set("X-Log-Reset", "1")
	}
	_, _ = w.Write([]byte(piece.Text))
}

// channelOf is the log channel a request asks for: stdout unless
// ?channel=stderr.
func channelOf(r *http.Request) protocol.Channel {
	ch, _ := protocol.ParseChannel(formValue(r, "channel"))
	return ch
}

// displayText turns raw log bytes into text a page can show: terminal
// colour codes are dropped, and since a tail cut mid-character or binary
// output must not break the page (the reference fails with HTTP 500
// there), invalid UTF-8 becomes U+FFFD.
func displayText(data []byte) string {
	s := string(logrot.StripANSI(data))
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}
