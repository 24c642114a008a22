package configcheck

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Severity is how bad a finding is.
type Severity int

// The severities, mildest first.
const (
	// Note is information: an extension key, a port held by the running
	// daemon. It does not change the exit status.
	Note Severity = iota
	// Warning is a likely mistake the daemon accepts.
	Warning
	// Error is what the daemon refuses, or fails on at start or spawn.
	Error
)

var severityNames = [...]string{Note: "note", Warning: "warning", Error: "error"}

func (s Severity) String() string { return severityNames[s] }

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is one thing the check reports.
type Finding struct {
	Severity Severity `json:"severity"`
	// Check names the rule, stable for scripts (e.g. "unknown-key").
	Check string `json:"check"`
	// File and Line locate it; File is "" for the command line or the
	// file search, Line 0 for the file as a whole.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Section and Key are what it is about, "" when it is about none.
	Section string `json:"section,omitempty"`
	Key     string `json:"key,omitempty"`
	Message string `json:"message"`
	// Suggestion is the known name closest to an unknown one.
	Suggestion string `json:"suggestion,omitempty"`
}

// Report is the result of a check.
type Report struct {
	// Config is the configuration file checked, "" when none was found.
	Config   string    `json:"config"`
	Findings []Finding `json:"findings"`
}

// Count is how many findings have severity s.
func (r *Report) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// ExitStatus is 0 when nothing worse than a note was found, 1 for
// warnings only, 2 when there is an error.
func (r *Report) ExitStatus() int {
	switch {
	case r.Count(Error) > 0:
		return 2
	case r.Count(Warning) > 0:
		return 1
	}
	return 0
}

// sort orders the findings by file (findings without a file first, then
// the configuration file, then the others in the order they were first
// named), then line, keeping the order of the checks within a line.
func (r *Report) sort() {
	files := map[string]int{"": -2, r.Config: -1}
	for _, f := range r.Findings {
		if _, ok := files[f.File]; !ok {
			files[f.File] = len(files)
		}
	}
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		if d := files[a.File] - files[b.File]; d != 0 {
			return d
		}
		return a.Line - b.Line
	})
}

// jsonReport is the JSON shape: the report with its counts and status.
type jsonReport struct {
	*Report
	Errors     int `json:"errors"`
	Warnings   int `json:"warnings"`
	Notes      int `json:"notes"`
	ExitStatus int `json:"exit_status"`
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	out := jsonReport{r, r.Count(Error), r.Count(Warning), r.Count(Note), r.ExitStatus()}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// ANSI colours for a terminal.
const (
	colorReset  = "\x1b[0m"
	colorBold   = "\x1b[1m"
	colorRed    = "\x1b[31m"
	colorYellow = "\x1b[33m"
	colorCyan   = "\x1b[36m"
)

var severityColors = [...]string{Note: colorCyan, Warning: colorYellow, Error: colorRed}

// WriteText writes the report for people: the findings grouped by file,
// one line each ("  LINE  [section] key  severity  message"), then a
// summary line. color adds ANSI colours (for a terminal only).
func (r *Report) WriteText(w io.Writer, color bool) error {
	paint := func(c, s string) string {
		if !color {
			return s
		}
		return c + s + colorReset
	}
	var b strings.Builder
	for start := 0; start < len(r.Findings); {
		end := start
		for end < len(r.Findings) && r.Findings[end].File == r.Findings[start].File {
			end++
		}
		group := r.Findings[start:end]
		title := group[0].File
		if title == "" {
			title = "(command line)"
		}
		b.WriteString(paint(colorBold, title) + "\n")
		lineW, whereW := 0, 0
		for _, f := range group {
			lineW = max(lineW, len(lineText(f)))
			whereW = max(whereW, len(whereText(f)))
		}
		for _, f := range group {
			sev := fmt.Sprintf("%-7s", f.Severity)
			fmt.Fprintf(&b, "  %*s  %-*s  %s  %s\n", lineW, lineText(f), whereW, whereText(f),
				paint(severityColors[f.Severity], sev), f.Message)
		}
		b.WriteString("\n")
		start = end
	}
	plural := func(n int, word string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, word)
		}
		return fmt.Sprintf("%d %ss", n, word)
	}
	summary := fmt.Sprintf("%s: %s, %s, %s", r.configName(), plural(r.Count(Error), "error"),
		plural(r.Count(Warning), "warning"), plural(r.Count(Note), "note"))
	switch r.ExitStatus() {
	case 2:
		summary = paint(colorRed, summary)
	case 1:
		summary = paint(colorYellow, summary)
	}
	b.WriteString(summary + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) configName() string {
	if r.Config == "" {
		return "no configuration file"
	}
	return r.Config
}

func lineText(f Finding) string {
	if f.Line == 0 {
		return "-"
	}
	return fmt.Sprint(f.Line)
}

func whereText(f Finding) string {
	var parts []string
	if f.Section != "" {
		parts = append(parts, "["+f.Section+"]")
	}
	if f.Key != "" {
		parts = append(parts, f.Key)
	}
	return strings.Join(parts, " ")
}
