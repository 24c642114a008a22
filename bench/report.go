package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// Daemon kinds, in the order they run and are printed.
const (
	Ours = "ours"
	Ref  = "ref"
)

// TargetKind says how a figure's target is checked.
type TargetKind int

// Target kinds. Ratio targets compare medians (ours/ref); the others bound
// our median alone.
const (
	NoTarget TargetKind = iota
	RatioAtMost
	AtMost
	AtLeast
	Equal
	RatioAtLeast
)

// String names the kind in JSON reports.
func (k TargetKind) String() string {
	switch k {
	case RatioAtMost:
		return "ratio_at_most"
	case RatioAtLeast:
		return "ratio_at_least"
	case AtMost:
		return "at_most"
	case AtLeast:
		return "at_least"
	case Equal:
		return "equal"
	}
	return ""
}

// Target is the goal for one figure.
type Target struct {
	Kind  TargetKind
	Value float64
}

// String renders the target as printed in the table.
func (t Target) String() string {
	v := formatValue(t.Value)
	switch t.Kind {
	case RatioAtMost:
		return "≤ " + v + "×"
	case RatioAtLeast:
		return "≥ " + v + "×"
	case AtMost:
		return "≤ " + v
	case AtLeast:
		return "≥ " + v
	case Equal:
		return "= " + v
	}
	return ""
}

// Met reports whether the target holds for these medians; ok is false when
// there is no target or a needed median is missing.
func (t Target) Met(ours, ref float64) (met, ok bool) {
	if t.Kind == NoTarget || math.IsNaN(ours) {
		return false, false
	}
	switch t.Kind {
	case RatioAtMost, RatioAtLeast:
		r := ratio(ours, ref)
		if math.IsNaN(r) {
			return false, false
		}
		if t.Kind == RatioAtLeast {
			return r >= t.Value, true
		}
		return r <= t.Value, true
	case AtMost:
		return ours <= t.Value, true
	case AtLeast:
		return ours >= t.Value, true
	case Equal:
		return ours == t.Value, true
	}
	return false, false
}

// ratio is ours/ref, NaN when undefined.
func ratio(ours, ref float64) float64 {
	if math.IsNaN(ours) || math.IsNaN(ref) || ref == 0 {
		return math.NaN()
	}
	return ours / ref
}

// Figure names one measured quantity of a scenario.
type Figure struct {
	Key    string // key in a Sample
	Label  string
	Unit   string
	Target Target
}

// Sample is one run's figures by key.
type Sample map[string]float64

// Series is every sample of one figure against one daemon.
type Series struct {
	Samples []float64 `json:"samples"`
	Median  *float64  `json:"median,omitempty"`
}

func newSeries(xs []float64) Series {
	s := Series{Samples: xs}
	if len(xs) > 0 {
		m := Median(xs)
		s.Median = &m
	}
	return s
}

func (s Series) median() float64 {
	if s.Median == nil {
		return math.NaN()
	}
	return *s.Median
}

// Row is one figure's result.
type Row struct {
	Key    string   `json:"key"`
	Label  string   `json:"label"`
	Unit   string   `json:"unit"`
	Ours   Series   `json:"ours"`
	Ref    Series   `json:"ref"`
	Ratio  *float64 `json:"ratio,omitempty"`
	Target string   `json:"target,omitempty"`
	// TargetKind and TargetValue are Target for machines.
	TargetKind  string   `json:"target_kind,omitempty"`
	TargetValue *float64 `json:"target_value,omitempty"`
	Met         *bool    `json:"met,omitempty"`
}

// ScenarioResult is one scenario's rows and the errors of failed runs.
type ScenarioResult struct {
	Name   string              `json:"name"`
	Title  string              `json:"title"`
	Rows   []Row               `json:"rows"`
	Errors map[string][]string `json:"errors,omitempty"`
	Notes  []string            `json:"notes,omitempty"`
	// Curve is set for a scenario measured at several program counts.
	Curve *Curve `json:"curve,omitempty"`
	// Load is the 1-minute load average when the scenario started and
	// when it ended: on a busy machine its figures are worth less.
	Load []float64 `json:"load,omitempty"`
}

// Report is the whole run.
type Report struct {
	Ours      string           `json:"ours"`
	Ref       string           `json:"ref"`
	Runs      int              `json:"runs"`
	Quick     bool             `json:"quick"`
	Machine   *Machine         `json:"machine,omitempty"`
	Scenarios []ScenarioResult `json:"scenarios"`
}

// Summarize turns the samples of one scenario (per daemon kind) into rows.
func Summarize(sc *Scenario, samples map[string][]Sample, errs map[string][]string) ScenarioResult {
	res := ScenarioResult{Name: sc.Name, Title: sc.Title, Notes: sc.Notes, Curve: sc.Curve}
	if len(errs[Ours])+len(errs[Ref]) > 0 {
		res.Errors = errs
	}
	for _, f := range sc.Figures {
		row := Row{Key: f.Key, Label: f.Label, Unit: f.Unit, Target: f.Target.String(), TargetKind: f.Target.Kind.String()}
		if f.Target.Kind != NoTarget {
			v := f.Target.Value
			row.TargetValue = &v
		}
		row.Ours = newSeries(collect(samples[Ours], f.Key))
		row.Ref = newSeries(collect(samples[Ref], f.Key))
		if r := ratio(row.Ours.median(), row.Ref.median()); !math.IsNaN(r) {
			row.Ratio = &r
		}
		if met, ok := f.Target.Met(row.Ours.median(), row.Ref.median()); ok {
			row.Met = &met
		}
		res.Rows = append(res.Rows, row)
	}
	return res
}

func collect(samples []Sample, key string) []float64 {
	var xs []float64
	for _, s := range samples {
		if v, ok := s[key]; ok && !math.IsNaN(v) {
			xs = append(xs, v)
		}
	}
	return xs
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report as an aligned text table: medians, ratio,
// target and verdict per figure, then the errors of failed runs.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "ours: %s\nref:  %s\nruns per scenario: %d%s\n", r.Ours, r.Ref, r.Runs, map[bool]string{true: " (quick)"}[r.Quick])
	if m := r.Machine; m != nil {
		fmt.Fprintf(w, "machine: %s\nstarted: %s\n", m.Describe(), m.Start.UTC().Format("2006-01-02 15:04:05 MST"))
		if len(m.LoadStart) == 3 {
			fmt.Fprintf(w, "load average (1/5/15 min): %s at the start", formatLoad(m.LoadStart))
			if len(m.LoadEnd) == 3 {
				fmt.Fprintf(w, ", %s at the end", formatLoad(m.LoadEnd))
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w)
	for _, sc := range r.Scenarios {
		fmt.Fprintf(w, "== %s: %s\n", sc.Name, sc.Title)
		if len(sc.Load) == 2 {
			fmt.Fprintf(w, "   load average (1 min): %.2f at the start, %.2f at the end\n", sc.Load[0], sc.Load[1])
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "figure\tunit\tours\tref\tours/ref\ttarget\tmet\t")
		for _, row := range sc.Rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", row.Label, row.Unit,
				cell(row.Ours, sc.Errors[Ours]), cell(row.Ref, sc.Errors[Ref]),
				optional(row.Ratio, "×"), row.Target, verdict(row))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, kind := range []string{Ours, Ref} {
			for _, e := range sc.Errors[kind] {
				fmt.Fprintf(w, "  error (%s): %s\n", kind, e)
			}
		}
		for _, n := range sc.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		fmt.Fprintln(w)
	}
	return nil
}

func cell(s Series, errs []string) string {
	if s.Median == nil {
		if len(errs) > 0 {
			return "error"
		}
		return "-"
	}
	return formatValue(*s.Median)
}

func optional(v *float64, suffix string) string {
	if v == nil {
		return "-"
	}
	return formatValue(*v) + suffix
}

func verdict(row Row) string {
	switch {
	case row.Target == "":
		return ""
	case row.Met == nil:
		return "n/a"
	case *row.Met:
		return "yes"
	}
	return "NO"
}

// formatValue prints three significant digits without exponent noise.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case v == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}
