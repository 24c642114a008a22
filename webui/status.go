package webui

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/engine"
)

// redirectWriteTimeout bounds writing the answer once an action is done,
// so a client that stopped reading cannot hold the connection.
const redirectWriteTimeout = 30 * time.Second

// statusPage is what templates/index.html renders.
type statusPage struct {
	Version        string
	Identification string
	DaemonState    string
	Message        string
	HasMessage     bool
	MessageIsError bool
	Processes      []processRow
	Summary        []summaryItem
}

// processRow is one process of the status table.
type processRow struct {
	Namespec    string
	State       string // lower-case state name, as the reference shows it
	StateClass  string // the reference's CSS class, kept for user stylesheets
	Description string
	CanStart    bool
	CanStop     bool // also offers Restart, as the reference does for RUNNING
	// CPU and Memory are the process tree's CPU use and resident memory
	// ("" when nothing runs or no sample has it); Usage details them.
	CPU, Memory, Usage string
	// Exits counts the crash records kept.
	Exits int
}

// summaryItem counts processes per state for the header.
type summaryItem struct {
	State string
	Count int
}

// serveStatus renders the status page, or performs an action and
// redirects to "/?message=..." like the reference.
func (h *Handler) serveStatus(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if action := formValue(r, "action"); action != "" {
		if err := h.crossSite(r); err != nil {
			http.Error(w, "webui: action refused: "+err.Error(), http.StatusForbidden)
			return
		}
		// A start or stop waits for the process (stopwaitsecs, startsecs):
		// the server's timeouts must not cut that short, only the client
		// leaving, which cancels the request's context.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
		msg, err := h.runAction(r.Context(), action, formValue(r, "processname"))
		_ = rc.SetWriteDeadline(time.Now().Add(redirectWriteTimeout))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.redirectWithMessage(w, r, msg)
		return
	}
	message, hasMessage := formLookup(r, "message")
	state := h.backend.State()
	procs, _ := h.backend.Processes() // none once the daemon has stopped
	res, _ := h.backend.Resources(resourceMaxAge)
	now := h.now().Unix()
	h.render(w, "index.html", statusPage{
		Version:        h.version,
		Identification: h.backend.Identification(),
		DaemonState:    state.String(),
		Message:        message,
		HasMessage:     hasMessage,
		MessageIsError: isErrorMessage(message),
		Processes:      withResources(rows(procs, now), procs, res),
		Summary:        summarize(procs),
	})
}

// redirectWithMessage sends the reference's 301 to the absolute URL of
// the status page carrying msg; no-cache keeps browsers from replaying a
// cached redirect instead of repeating the action.
func (h *Handler) redirectWithMessage(w http.ResponseWriter, r *http.Request, msg string) {
	location := "/?message=" + pythonQuote(msg)
	if r.Host != "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		location = scheme + "://" + r.Host + location
	}
	hdr := w.Header()
	setPageHeaders(hdr)
	hdr.Set("Location", location)
	hdr.Set("Content-Type", "text/html;charset=utf-8")
	w.WriteHeader(http.StatusMovedPermanently)
	_, _ = w.Write([]byte(`<a href="` + html.EscapeString(location) + `">Moved Permanently</a>` + "\n"))
}

// rows are the status table's rows for procs, as seen at now (epoch
// seconds).
func rows(procs []engine.ProcessStatus, now int64) []processRow {
	out := make([]processRow, 0, len(procs))
	for _, info := range procs {
		desc := info.DependencyNote // depends_on's, for a stopped process that waits or failed to
		if desc == "" {
			desc = protocol.Describe(info.State, info.Name, info.PID, info.SpawnErr, unixOrZero(info.Started), unixOrZero(info.Stopped), now)
		}
		out = append(out, processRow{
			Namespec:    namespec(info.Group, info.Name),
			State:       strings.ToLower(info.State.String()),
			StateClass:  stateClass(info.State),
			Description: desc,
			CanStart:    info.State == protocol.StateStopped || info.State == protocol.StateExited || info.State == protocol.StateFatal,
			CanStop:     info.State == protocol.StateRunning,
		})
	}
	return out
}

// resourceMaxAge is how old a resource sample the status page accepts
// (an older one is taken again, off the engine's loop).
const resourceMaxAge = 2 * time.Second

// withResources adds each process's tree usage and crash record count
// to its row; res is matched by group and name.
func withResources(rs []processRow, procs []engine.ProcessStatus, res []engine.ProcessResources) []processRow {
	byName := make(map[string]*engine.ProcessResources, len(res))
	for i := range res {
		byName[res[i].Group+":"+res[i].Name] = &res[i]
	}
	for i := range rs {
		p := &procs[i]
		rs[i].Exits = int(p.Counters.ExitsExpected + p.Counters.ExitsUnexpected)
		r := byName[p.Group+":"+p.Name]
		if r == nil || p.PID == 0 || r.Usage.Processes == 0 {
			continue
		}
		u := r.Usage
		if u.CPUPercent >= 0 {
			rs[i].CPU = fmt.Sprintf("%.1f%%", u.CPUPercent)
		} else {
			rs[i].CPU = fmt.Sprintf("%.1fs", u.CPU.Seconds())
		}
		rs[i].Memory = byteSize(u.RSS)
		details := []string{fmt.Sprintf("%d process(es), CPU time %.2fs", u.Processes, u.CPU.Seconds())}
		if r.RSSLimit > 0 {
			details = append(details, "rss_limit "+byteSize(uint64(r.RSSLimit)))
		}
		if u.CgroupMemory >= 0 {
			details = append(details, "cgroup memory "+byteSize(uint64(u.CgroupMemory)))
		}
		rs[i].Usage = strings.Join(details, ", ")
	}
	return rs
}

// byteSize words a byte count: 12.3 MB.
func byteSize(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// summarize counts processes per state, running first, then problems.
func summarize(infos []engine.ProcessStatus) []summaryItem {
	order := []protocol.ProcessState{
		protocol.StateRunning, protocol.StateStarting, protocol.StateBackoff, protocol.StateFatal,
		protocol.StateExited, protocol.StateStopping, protocol.StateStopped, protocol.StateUnknown,
	}
	counts := map[protocol.ProcessState]int{}
	for _, info := range infos {
		counts[info.State]++
	}
	var out []summaryItem
	for _, s := range order {
		if counts[s] > 0 {
			out = append(out, summaryItem{State: strings.ToLower(s.String()), Count: counts[s]})
		}
	}
	return out
}

// unixOrZero is t in epoch seconds, 0 for the zero time (never).
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// stateClass is the reference's CSS class for a state.
func stateClass(state protocol.ProcessState) string {
	switch state {
	case protocol.StateRunning:
		return "statusrunning"
	case protocol.StateFatal, protocol.StateBackoff:
		return "statuserror"
	default:
		return "statusnominal"
	}
}

// namespec is "name" for a process alone in its homonymous group, else
// "group:name".
func namespec(group, name string) string {
	if group == name || group == "" {
		return name
	}
	return group + ":" + name
}

// formValue is the first non-empty value of key: like Python's parse_qs,
// blank values count as absent.
func formValue(r *http.Request, key string) string {
	v, _ := formLookup(r, key)
	return v
}

// formLookup is formValue that also reports whether a non-empty value
// was present.
func formLookup(r *http.Request, key string) (string, bool) {
	for _, v := range r.Form[key] {
		if v != "" {
			return v, true
		}
	}
	return "", false
}

// pythonQuote percent-encodes s as Python's urllib.parse.quote does by
// default: everything but ASCII letters, digits, "_.-~" and "/".
func pythonQuote(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '_', c == '.', c == '-', c == '~', c == '/':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// isErrorMessage reports whether an action's message tells of a failure,
// so the page can show it as one.
func isErrorMessage(msg string) bool {
	for _, prefix := range []string{"ERROR", "unexpected rpc fault", "No such process"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}
