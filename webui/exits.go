package webui

import (
	"net/http"
	"strings"
	"time"

	"gosupervisor/supervisord/engine"
)

// exitsPage is what templates/exits.html renders: a process's crash
// records (gosupervisor's page; the reference has none).
type exitsPage struct {
	Version string
	Name    string
	Found   bool
	HasInfo bool
	Info    processRow
	Exits   []exitRow
}

// exitRow is one exit as the page shows it.
type exitRow struct {
	Time     string
	PID      int
	Uptime   string
	Status   string // "exit status 3", "terminated by SIGKILL (core dumped)"
	Expected bool
	Stopped  bool
	Reason   string
	Stdout   string
	Stderr   string
}

// serveExits renders a process's last exits, newest first.
func (h *Handler) serveExits(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	page := exitsPage{Version: h.version, Name: formValue(r, "processname")}
	if info, err := h.backend.Process(page.Name); err == nil {
		page.HasInfo = true
		page.Info = rows([]engine.ProcessStatus{info}, h.now().Unix())[0]
	}
	exits, err := h.backend.ProcessExits(page.Name)
	if err == nil {
		page.Found = true
		for _, x := range exits {
			page.Exits = append(page.Exits, exitRowOf(x))
		}
	}
	h.render(w, "exits.html", page)
}

func exitRowOf(x engine.ExitRecord) exitRow {
	return exitRow{
		Time: x.Time.Format("2006-01-02 15:04:05"), PID: x.PID, Uptime: x.Uptime.Round(time.Millisecond).String(),
		Status: x.How, Expected: x.Expected, Stopped: x.Stopped, Reason: string(x.Reason),
		Stdout: strings.Join(x.Stdout, "\n"), Stderr: strings.Join(x.Stderr, "\n"),
	}
}
