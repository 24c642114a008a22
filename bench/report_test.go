package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestTargetMet(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name            string
		target          Target
		ours, ref       float64
		wantMet, wantOK bool
		wantText        string
	}{
		{name: "ratio met", target: Target{RatioAtMost, 0.4}, ours: 12, ref: 31, wantMet: true, wantOK: true, wantText: "≤ 0.4×"},
		{name: "ratio missed", target: Target{RatioAtMost, 0.4}, ours: 13, ref: 31, wantOK: true},
		{name: "ratio at the bound", target: Target{RatioAtMost, 0.5}, ours: 1, ref: 2, wantMet: true, wantOK: true},
		{name: "ratio without ref", target: Target{RatioAtMost, 0.4}, ours: 12, ref: nan},
		{name: "ratio with zero ref", target: Target{RatioAtMost, 1}, ours: 0, ref: 0},
		{name: "ratio without ours", target: Target{RatioAtMost, 0.4}, ours: nan, ref: 31},
		{name: "ratio at least met", target: Target{RatioAtLeast, 1.5}, ours: 30, ref: 20, wantMet: true, wantOK: true, wantText: "≥ 1.50×"},
		{name: "ratio at least missed", target: Target{RatioAtLeast, 1.5}, ours: 29, ref: 20, wantOK: true},
		{name: "ratio at least without ref", target: Target{RatioAtLeast, 1.5}, ours: 29, ref: nan},
		{name: "at most", target: Target{AtMost, 50}, ours: 12, ref: nan, wantMet: true, wantOK: true, wantText: "≤ 50.0"},
		{name: "at most missed", target: Target{AtMost, 50}, ours: 1006, ref: 1006, wantOK: true},
		{name: "at least", target: Target{AtLeast, 90}, ours: 95, wantMet: true, wantOK: true, wantText: "≥ 90.0"},
		{name: "at least missed", target: Target{AtLeast, 90}, ours: 80, wantOK: true},
		{name: "equal", target: Target{Equal, 0}, ours: 0, wantMet: true, wantOK: true, wantText: "= 0"},
		{name: "equal missed", target: Target{Equal, 0}, ours: 3, wantOK: true},
		{name: "no target", target: Target{}, ours: 1, ref: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			met, ok := tt.target.Met(tt.ours, tt.ref)
			if met != tt.wantMet || ok != tt.wantOK {
				t.Errorf("Met = %v, %v; want %v, %v", met, ok, tt.wantMet, tt.wantOK)
			}
			if tt.wantText != "" && tt.target.String() != tt.wantText {
				t.Errorf("String = %q, want %q", tt.target.String(), tt.wantText)
			}
		})
	}
}

func testReport() *Report {
	sc := &Scenario{
		Name: "idle", Title: "idle daemon", Notes: []string{"a note"},
		Figures: []Figure{
			{Key: "rss", Label: "VmRSS", Unit: "MiB", Target: Target{RatioAtMost, 0.4}},
			{Key: "hwm", Label: "VmHWM", Unit: "MiB"},
			{Key: "lost", Label: "lines lost", Unit: "lines", Target: Target{Equal, 0}},
		},
	}
	samples := map[string][]Sample{
		Ours: {{"rss": 13, "hwm": 11}, {"rss": 14, "hwm": 15}, {"rss": 13, "hwm": 13}},
		Ref:  {{"rss": 30, "hwm": 30, "lost": 0}, {"rss": 31, "hwm": 32, "lost": 0}},
	}
	errs := map[string][]string{Ours: {"run 2: boom"}}
	return &Report{Ours: "bin/supervisord", Ref: "/usr/bin/supervisord", Runs: 3,
		Scenarios: []ScenarioResult{Summarize(sc, samples, errs)}}
}

func TestSummarize(t *testing.T) {
	res := testReport().Scenarios[0]
	if len(res.Rows) != 3 {
		t.Fatalf("%d rows, want 3", len(res.Rows))
	}
	rss := res.Rows[0]
	if *rss.Ours.Median != 13 || *rss.Ref.Median != 30.5 || len(rss.Ours.Samples) != 3 {
		t.Errorf("rss medians: ours %v ref %v", *rss.Ours.Median, *rss.Ref.Median)
	}
	if math.Abs(*rss.Ratio-13/30.5) > 1e-12 || rss.Met == nil || *rss.Met != false {
		t.Errorf("rss ratio %v met %v; want %v, false", *rss.Ratio, rss.Met, 13/30.5)
	}
	lost := res.Rows[2]
	if lost.Ours.Median != nil || lost.Met != nil || lost.Ratio != nil {
		t.Errorf("lost has no ours samples, yet: %+v", lost)
	}
	if got := res.Errors[Ours]; len(got) != 1 {
		t.Errorf("errors = %v", res.Errors)
	}
}

func TestWriteTable(t *testing.T) {
	var buf bytes.Buffer
	if err := testReport().WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"ours: bin/supervisord\n",
		"runs per scenario: 3\n",
		"== idle: idle daemon\n",
		"  error (ours): run 2: boom\n",
		"  note: a note\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Columns are aligned with spaces; compare the fields of each row.
	wantRows := [][]string{
		{"figure", "unit", "ours", "ref", "ours/ref", "target", "met"},
		{"VmRSS", "MiB", "13.0", "30.5", "0.426×", "≤", "0.4×", "NO"},
		{"VmHWM", "MiB", "13.0", "31.0", "0.419×"},
		{"lines", "lost", "lines", "error", "0", "-", "=", "0", "n/a"},
	}
	lines := strings.Split(out, "\n")
	start := slices.Index(lines, "== idle: idle daemon") + 1
	for i, want := range wantRows {
		if got := strings.Fields(lines[start+i]); !slices.Equal(got, want) {
			t.Errorf("row %d = %q, want %q", i, got, want)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := testReport().WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not parse back: %v\n%s", err, buf.String())
	}
	row := back.Scenarios[0].Rows[0]
	if back.Runs != 3 || row.Key != "rss" || *row.Ours.Median != 13 || *row.Met != false || row.Target != "≤ 0.4×" {
		t.Errorf("round trip lost data: %+v", row)
	}
	if row.TargetKind != "ratio_at_most" || row.TargetValue == nil || *row.TargetValue != 0.4 {
		t.Errorf("target for machines: %q %v", row.TargetKind, row.TargetValue)
	}
	if hwm := back.Scenarios[0].Rows[1]; hwm.TargetKind != "" || hwm.TargetValue != nil || hwm.Met != nil {
		t.Errorf("figure without target has one in JSON: %+v", hwm)
	}
	if !strings.Contains(buf.String(), `"samples": [`) {
		t.Errorf("samples missing:\n%s", buf.String())
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{{0, "0"}, {1234.6, "1235"}, {31.25, "31.2"}, {2.5, "2.50"}, {0.11, "0.11"}, {0.000123, "0.000123"}, {-3, "-3.00"}}
	for _, tt := range tests {
		if got := formatValue(tt.v); got != tt.want {
			t.Errorf("formatValue(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
