package bench

import (
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// plotPanels are the scale curve's metrics drawn, in reading order, and
// whether each gets a logarithmic y axis (idle CPU is 0 for a daemon
// that does not poll, which a log axis cannot show).
var plotPanels = []struct {
	metric string
	logY   bool
}{
	{"running", true}, {"rss", true}, {"idle_cpu", false}, {"list_cpu", true},
}

// Plot geometry, in SVG user units.
const (
	plotPanelW, plotPanelH = 460, 300
	plotLeft, plotRight    = 70, 20
	plotTop, plotBottom    = 40, 45
	plotHeader             = 50
)

var plotColors = map[string]string{Ours: "#1f77b4", Ref: "#d95f02"}

// HasCurve reports whether the report holds a scale curve to draw.
func (r *Report) HasCurve() bool {
	for _, sc := range r.Scenarios {
		if sc.Curve != nil {
			return true
		}
	}
	return false
}

// WriteSVG draws the report's scale curve: one panel per metric against
// the program count (log scale), ours and the reference's medians.
func (r *Report) WriteSVG(w io.Writer) error {
	var sc *ScenarioResult
	for i := range r.Scenarios {
		if r.Scenarios[i].Curve != nil {
			sc = &r.Scenarios[i]
			break
		}
	}
	if sc == nil {
		return errors.New("svg: the report has no scale curve (run the scale scenario)")
	}
	rows := map[string]Row{}
	for _, row := range sc.Rows {
		rows[row.Key] = row
	}
	metrics := map[string]Figure{}
	for _, m := range sc.Curve.Metrics {
		metrics[m.Key] = m
	}
	cols := 2
	width := cols * plotPanelW
	height := plotHeader + (len(plotPanels)+cols-1)/cols*plotPanelH
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="16" font-weight="bold">%s</text>`+"\n", plotLeft, html.EscapeString(sc.Title))
	lx := plotLeft
	for _, kind := range []string{Ours, Ref} {
		name := map[string]string{Ours: "gosupervisor", Ref: "Supervisor 4.2.5 (Python)"}[kind]
		fmt.Fprintf(&b, `<line x1="%d" y1="38" x2="%d" y2="38" stroke="%s" stroke-width="2.5"/><circle cx="%d" cy="38" r="3.5" fill="%s"/>`, lx, lx+24, plotColors[kind], lx+12, plotColors[kind])
		fmt.Fprintf(&b, `<text x="%d" y="42">%s</text>`+"\n", lx+30, html.EscapeString(name))
		lx += 60 + 8*len(name)
	}
	for i, p := range plotPanels {
		m, ok := metrics[p.metric]
		if !ok {
			continue
		}
		series := map[string][]point{}
		for _, n := range sc.Curve.Sizes {
			row, ok := rows[curveKey(p.metric, n)]
			if !ok {
				continue
			}
			for kind, s := range map[string]Series{Ours: row.Ours, Ref: row.Ref} {
				if s.Median != nil {
					series[kind] = append(series[kind], point{float64(n), *s.Median})
				}
			}
		}
		x0 := (i % cols) * plotPanelW
		y0 := plotHeader + (i/cols)*plotPanelH
		drawPanel(&b, x0, y0, m, sc.Curve.Sizes, series, p.logY)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

type point struct{ x, y float64 }

// axis maps values to one plot coordinate, linearly or logarithmically.
type axis struct {
	lo, hi   float64 // value range (positive for log)
	log      bool
	from, to float64 // coordinate range
}

func (a axis) at(v float64) float64 {
	f := func(v float64) float64 { return v }
	if a.log {
		f = math.Log10
	}
	return a.from + (f(v)-f(a.lo))/(f(a.hi)-f(a.lo))*(a.to-a.from)
}

// drawPanel draws one metric's panel with its top-left corner at x0, y0.
func drawPanel(b *strings.Builder, x0, y0 int, m Figure, sizes []int, series map[string][]point, logY bool) {
	left, right := float64(x0+plotLeft), float64(x0+plotPanelW-plotRight)
	top, bottom := float64(y0+plotTop), float64(y0+plotPanelH-plotBottom)
	title := m.Label
	if m.Unit != "" {
		title += " (" + m.Unit + ")"
	}
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-weight="bold">%s</text>`+"\n", left, top-12, html.EscapeString(title))
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`+"\n", left, top, right-left, bottom-top)
	if len(sizes) == 0 {
		return
	}
	xs := axis{lo: float64(sizes[0]) / 1.3, hi: float64(sizes[len(sizes)-1]) * 1.3, log: true, from: left, to: right}
	if len(sizes) == 1 {
		xs.lo, xs.hi = float64(sizes[0])/2, float64(sizes[0])*2
	}
	for _, n := range sizes {
		x := xs.at(float64(n))
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#eee"/>`, x, top, x, bottom)
		fmt.Fprintf(b, `<text x="%.1f" y="%.0f" text-anchor="middle">%d</text>`+"\n", x, bottom+16, n)
	}
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle">programs</text>`+"\n", (left+right)/2, bottom+34)
	ys, ticks := yAxis(series, logY, bottom, top)
	for _, t := range ticks {
		y := ys.at(t)
		fmt.Fprintf(b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#eee"/>`, left, y, right, y)
		fmt.Fprintf(b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, formatValue(t))
	}
	for _, kind := range []string{Ref, Ours} {
		pts := series[kind]
		if len(pts) == 0 {
			continue
		}
		var path []string
		for _, p := range pts {
			path = append(path, fmt.Sprintf("%.1f,%.1f", xs.at(p.x), ys.at(clampY(p.y, ys))))
		}
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2.5"/>`+"\n", strings.Join(path, " "), plotColors[kind])
		for _, p := range pts {
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s %d: %s</title></circle>`+"\n",
				xs.at(p.x), ys.at(clampY(p.y, ys)), plotColors[kind], kind, int(p.x), formatValue(p.y))
		}
	}
}

// clampY keeps a value a log axis cannot show (0) on the axis's floor.
func clampY(v float64, a axis) float64 {
	if a.log && v < a.lo {
		return a.lo
	}
	return v
}

// yAxis fits a y axis to the series: decades for a log axis, round steps
// from 0 for a linear one; it returns the axis and its tick values.
func yAxis(series map[string][]point, logY bool, from, to float64) (axis, []float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, pts := range series {
		for _, p := range pts {
			if logY && p.y <= 0 {
				continue
			}
			lo, hi = math.Min(lo, p.y), math.Max(hi, p.y)
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 1, 10
	}
	if logY {
		a := axis{lo: math.Pow(10, math.Floor(math.Log10(lo))), hi: math.Pow(10, math.Ceil(math.Log10(hi))), log: true, from: from, to: to}
		if a.hi <= a.lo {
			a.hi = a.lo * 10
		}
		var ticks []float64
		for t := a.lo; t <= a.hi*1.0001; t *= 10 {
			ticks = append(ticks, t)
		}
		return a, ticks
	}
	step := niceStep(math.Max(hi, 0) / 4)
	top := step * math.Ceil(math.Max(hi, step)/step)
	a := axis{lo: 0, hi: top, from: from, to: to}
	var ticks []float64
	for t := 0.0; t <= top*1.0001; t += step {
		ticks = append(ticks, t)
	}
	return a, ticks
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten (x > 0; a tiny
// x gives a tiny step).
func niceStep(x float64) float64 {
	if x <= 0 {
		return 0.1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}
