package bench

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// WriteMarkdown writes the report as Markdown to paste into README.md: a
// sentence on the machine and its load, then one table per scenario
// (ours, the reference, the ratio, the target, met or not), its notes and
// the errors of failed runs. The scale curve gets one row per metric and
// daemon with a column per program count, then its targets.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString(r.markdownHeader())
	for _, sc := range r.Scenarios {
		fmt.Fprintf(&b, "\n#### %s: %s\n\n", mdEscape(sc.Name), mdEscape(sc.Title))
		if len(sc.Load) == 2 {
			fmt.Fprintf(&b, "Load average (1 min) %.2f at the start, %.2f at the end.\n\n", sc.Load[0], sc.Load[1])
		}
		rows := sc.Rows
		if sc.Curve != nil {
			writeCurveMarkdown(&b, sc)
			rows = nil
			for _, row := range sc.Rows {
				if row.Target != "" {
					rows = append(rows, row)
				}
			}
			if len(rows) > 0 {
				b.WriteString("\n")
			}
		}
		if len(rows) > 0 {
			b.WriteString("| figure | ours | reference | ours/ref | target | met |\n|---|---|---|---|---|---|\n")
			for _, row := range rows {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", mdEscape(row.Label),
					mdCell(row.Ours, row.Unit, sc.Errors[Ours]), mdCell(row.Ref, row.Unit, sc.Errors[Ref]),
					optional(row.Ratio, "×"), mdTarget(row), mdVerdict(row))
			}
		}
		if len(sc.Notes)+len(sc.Errors[Ours])+len(sc.Errors[Ref]) > 0 {
			b.WriteString("\n")
		}
		for _, n := range sc.Notes {
			fmt.Fprintf(&b, "- %s\n", mdEscape(n))
		}
		for _, kind := range []string{Ours, Ref} {
			for _, e := range sc.Errors[kind] {
				fmt.Fprintf(&b, "- **error (%s)**: %s\n", kind, mdEscape(e))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// markdownHeader says when, where, how often and under what load.
func (r *Report) markdownHeader() string {
	var b strings.Builder
	b.WriteString("`make bench`")
	if m := r.Machine; m != nil {
		fmt.Fprintf(&b, " on %s, %s", m.Start.UTC().Format("2006-01-02 15:04 MST"), m.Describe())
	}
	fmt.Fprintf(&b, "; ours (`%s`) and the reference (`%s`) interleaved in one run, medians of %d run(s) per scenario", filepath.Base(r.Ours), r.Ref, r.Runs)
	if r.Quick {
		b.WriteString(" (`-quick`: shorter windows and smaller sizes)")
	}
	b.WriteString(".")
	if m := r.Machine; m != nil && len(m.LoadStart) == 3 {
		fmt.Fprintf(&b, " Load average (1 / 5 / 15 min) %s at the start", formatLoad(m.LoadStart))
		if len(m.LoadEnd) == 3 {
			fmt.Fprintf(&b, ", %s at the end", formatLoad(m.LoadEnd))
		}
		fmt.Fprintf(&b, " (%d cores: above that, other programs competed for them).", m.CPUs)
	}
	b.WriteString("\n")
	return b.String()
}

// writeCurveMarkdown writes a curve scenario's metrics as a table with a
// column per program count, a row per metric and daemon, and the growth
// exponent where there is one.
func writeCurveMarkdown(b *strings.Builder, sc ScenarioResult) {
	rows := map[string]Row{}
	for _, row := range sc.Rows {
		rows[row.Key] = row
	}
	b.WriteString("| metric | daemon |")
	for _, n := range sc.Curve.Sizes {
		fmt.Fprintf(b, " %d |", n)
	}
	b.WriteString(" growth exponent |\n|---|---|")
	b.WriteString(strings.Repeat("---|", len(sc.Curve.Sizes)+1))
	b.WriteString("\n")
	for _, m := range sc.Curve.Metrics {
		for _, kind := range []string{Ours, Ref} {
			label := mdEscape(m.Label)
			if m.Unit != "" {
				label += " (" + mdEscape(m.Unit) + ")"
			}
			if kind == Ref {
				label = ""
			}
			fmt.Fprintf(b, "| %s | %s |", label, map[string]string{Ours: "ours", Ref: "reference"}[kind])
			for _, n := range sc.Curve.Sizes {
				fmt.Fprintf(b, " %s |", mdCell(rows[curveKey(m.Key, n)].series(kind), "", sc.Errors[kind]))
			}
			g := ""
			if row, ok := rows[growthKey(m.Key)]; ok {
				g = mdCell(row.series(kind), "", nil)
			}
			fmt.Fprintf(b, " %s |\n", g)
		}
	}
}

// series is the row's figures for one daemon kind.
func (r Row) series(kind string) Series {
	if kind == Ref {
		return r.Ref
	}
	return r.Ours
}

// mdCell is a median with its unit, "error" when runs failed and none
// was measured, "-" when not measured.
func mdCell(s Series, unit string, errs []string) string {
	if s.Median == nil {
		if len(errs) > 0 {
			return "error"
		}
		return "-"
	}
	v := *s.Median
	switch unit {
	case "bool":
		if v == 1 {
			return "yes"
		}
		return "no"
	case "", "×":
		return formatValue(v) + unit
	}
	return formatValue(v) + " " + mdEscape(unit)
}

// mdTarget is the target, with the unit when it bounds our figure alone.
func mdTarget(row Row) string {
	switch {
	case row.Target == "" || row.TargetValue == nil:
		return row.Target
	case row.TargetKind == RatioAtMost.String() || row.TargetKind == RatioAtLeast.String():
		return row.Target
	case row.Unit == "" || row.Unit == "×" || row.Unit == "bool":
		return row.Target
	}
	return row.Target + " " + mdEscape(row.Unit)
}

// mdVerdict is the met column: misses in bold, so they stand out.
func mdVerdict(row Row) string {
	v := verdict(row)
	if v == "NO" {
		return "**no**"
	}
	return v
}

// mdEscape keeps text from breaking a table row or starting markup.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "*", `\*`, "_", `\_`).Replace(s)
}
