package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

func scaleReport() *Report {
	sc := scaleScenario([]int{100, 500, 2000})
	samples := map[string][]Sample{
		Ours: {{}}, Ref: {{}},
	}
	for i, n := range []int{100, 500, 2000} {
		f := float64(n)
		samples[Ours][0][curveKey("running", n)] = f / 1000
		samples[Ref][0][curveKey("running", n)] = f * f / 100000
		samples[Ours][0][curveKey("rss", n)] = 10 + f/100
		samples[Ref][0][curveKey("rss", n)] = 30 + f/50
		samples[Ours][0][curveKey("idle_cpu", n)] = 0
		samples[Ref][0][curveKey("idle_cpu", n)] = float64(i) * 0.3
		samples[Ours][0][curveKey("list_cpu", n)] = f / 300
		samples[Ref][0][curveKey("list_cpu", n)] = f / 2
	}
	addGrowth(samples[Ours][0], sc.Curve.Sizes)
	addGrowth(samples[Ref][0], sc.Curve.Sizes)
	return &Report{Scenarios: []ScenarioResult{Summarize(sc, samples, nil)}}
}

func TestScaleGrowth(t *testing.T) {
	rep := scaleReport()
	rows := map[string]Row{}
	for _, r := range rep.Scenarios[0].Rows {
		rows[r.Key] = r
	}
	tests := []struct {
		key       string
		ours, ref float64
		met       bool
	}{
		{growthKey("running"), 1, 2, true},
		{growthKey("list_cpu"), 1, 1, true},
	}
	for _, tt := range tests {
		r, ok := rows[tt.key]
		if !ok || r.Ours.Median == nil || r.Ref.Median == nil {
			t.Fatalf("%s: row %+v", tt.key, r)
		}
		if math.Abs(*r.Ours.Median-tt.ours) > 1e-9 || math.Abs(*r.Ref.Median-tt.ref) > 1e-9 || r.Met == nil || *r.Met != tt.met {
			t.Errorf("%s: ours %v ref %v met %v; want %v %v %v", tt.key, *r.Ours.Median, *r.Ref.Median, r.Met, tt.ours, tt.ref, tt.met)
		}
	}
	// idle CPU is 0 for ours: no exponent, no row median.
	if _, ok := rows[growthKey("idle_cpu")]; ok {
		t.Error("idle CPU has a growth row")
	}
}

func TestWriteSVG(t *testing.T) {
	var buf bytes.Buffer
	if err := scaleReport().WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	// Well-formed XML with one polyline per daemon and panel, and a
	// point per size.
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	count := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v\n%s", err, buf.String())
		}
		if se, ok := tok.(xml.StartElement); ok {
			count[se.Name.Local]++
		}
	}
	if count["svg"] != 1 || count["polyline"] != 2*len(plotPanels) || count["circle"] != 2+2*3*len(plotPanels) {
		t.Errorf("elements %v", count)
	}
	for _, want := range []string{"exec to all RUNNING (s)", "VmRSS when idle (MiB)", ">2000<", "gosupervisor"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("svg lacks %q", want)
		}
	}
	if err := testReport().WriteSVG(io.Discard); err == nil {
		t.Error("a report without a curve drew one")
	}
}

func TestAxes(t *testing.T) {
	for _, tt := range []struct{ in, want float64 }{{0.3, 0.5}, {1, 1}, {1.2, 2}, {7, 10}, {0, 0.1}, {4500, 5000}} {
		if got := niceStep(tt.in); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("niceStep(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	series := map[string][]point{Ours: {{100, 0}, {500, 0.02}}, Ref: {{100, 3}, {500, 40}}}
	a, ticks := yAxis(series, true, 100, 0)
	if a.lo != 0.01 || a.hi != 100 || len(ticks) != 5 {
		t.Errorf("log axis %+v ticks %v", a, ticks)
	}
	if y := a.at(a.lo); y != 100 {
		t.Errorf("floor at %v", y)
	}
	if y := a.at(clampY(0, a)); y != 100 {
		t.Errorf("0 on a log axis at %v, want the floor", y)
	}
	lin, ticks := yAxis(series, false, 100, 0)
	if lin.lo != 0 || lin.hi != 40 || ticks[len(ticks)-1] != 40 {
		t.Errorf("linear axis %+v ticks %v", lin, ticks)
	}
}
