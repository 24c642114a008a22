package webui

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"gosupervisor/logrot"
	"gosupervisor/rpc"
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
	page.Channel = "stdout"
	if formValue(r, "channel") == "stderr" {
		page.Channel = "stderr"
	}
	if page.Name == "" {
		page.Text = "No process name found"
		h.render(w, "tail.html", page)
		return
	}
	if info, err := h.backend.ProcessInfo(page.Name); err == nil {
		page.HasInfo = true
		page.Info = rows([]rpc.ProcessInfo{info})[0]
	}
	page.Text = h.tailText(page.Name, page.Channel, page.Limit)
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

// tailText returns the end of a log of name as displayable text, or the
// reference's message when there is none.
func (h *Handler) tailText(name, channel string, limit int) string {
	path, err := h.backend.LogFile(name, channel)
	if err != nil {
		return "ERROR: " + unexpectedFault(err)
	}
	if path == "" {
		return "No file for " + name
	}
	data, err := logrot.ReadRange(path, -int64(limit), 0)
	if errors.Is(err, logrot.ErrNoFile) {
		return "No file for " + name
	}
	if err != nil {
		return "ERROR: " + unexpectedFault(rpc.NewFault(rpc.FaultFailed, err.Error()))
	}
	return displayText(data)
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
