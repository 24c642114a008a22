package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestWriteMarkdown(t *testing.T) {
	rep := testReport()
	rep.Scenarios[0].Load = []float64{1.5, 2.25}
	rep.Scenarios[0].Notes = []string{"a note with a | bar and a_b"}
	rep.Machine = &Machine{Start: time.Date(2026, 12, 7, 16, 50, 0, 0, time.UTC), CPUs: 2, CPUModel: "Xeon",
		MemBytes: 24 << 30, Kernel: "Linux 6.18", Go: "go1.26.8", LoadStart: []float64{3, 2, 1}, LoadEnd: []float64{4, 3, 2}}
	curve := scaleReport().Scenarios[0]
	rep.Scenarios = append(rep.Scenarios, curve)
	var buf bytes.Buffer
	if err := rep.WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"`make bench` on 2026-12-07 16:50 UTC, 2 cores (Xeon), 24.0 GiB RAM, Linux 6.18, go1.26.8; ours (`supervisord`) and the reference (`/usr/bin/supervisord`) interleaved in one run, medians of 3 run(s) per scenario. Load average (1 / 5 / 15 min) 3.00 / 2.00 / 1.00 at the start, 4.00 / 3.00 / 2.00 at the end (2 cores: above that, other programs competed for them).\n",
		"\n#### idle: idle daemon\n\nLoad average (1 min) 1.50 at the start, 2.25 at the end.\n\n",
		"| figure | ours | reference | ours/ref | target | met |\n|---|---|---|---|---|---|\n",
		"| VmRSS | 13.0 MiB | 30.5 MiB | 0.426× | ≤ 0.4× | **no** |\n",
		"| VmHWM | 13.0 MiB | 31.0 MiB | 0.419× |  |  |\n",
		"| lines lost | error | 0 lines | - | = 0 lines | n/a |\n",
		"- a note with a \\| bar and a\\_b\n",
		"- **error (ours)**: run 2: boom\n",
		// The curve: a column per size, a row per metric and daemon.
		"| metric | daemon | 100 | 500 | 2000 | growth exponent |\n|---|---|---|---|---|---|\n",
		"| exec to all RUNNING (s) | ours | 0.1 | 0.5 | 2.00 | 1.00 |\n|  | reference | 0.1 | 2.50 | 40.0 | 2.00 |\n",
		"| daemon wake-ups while idle (/s) | ours | - | - | - |  |\n",
		"| daemon wake-ups while idle, 100 programs | - | - | - | ≤ 0.5 /s | n/a |\n",
		// Then only the curve's rows with a target.
		"| exec to all RUNNING: growth exponent 100→2000 (1 = linear) | 1.00 | 2.00 | 0.5× | ≤ 1.15 | yes |\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "| exec to all RUNNING, 100 programs |") {
		t.Errorf("the curve's figures are repeated row by row:\n%s", out)
	}
	// Every table row has as many cells as its header.
	cols := 0
	for line := range strings.Lines(out) {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("row with %d bars under a header with %d: %q", n, cols, line)
		}
	}
}

func TestMachineParsing(t *testing.T) {
	cpuinfo := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu\n\nprocessor\t: 1\nmodel name\t: other\n"
	if got := cpuModel(cpuinfo); got != "Intel(R) Xeon(R) Processor" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := memTotal("MemFree: 1 kB\nMemTotal:       24683772 kB\n"); got != 24683772<<10 {
		t.Errorf("memTotal = %d", got)
	}
	if got := memTotal("nothing\n"); got != 0 {
		t.Errorf("memTotal without the line = %d", got)
	}
	load, err := parseLoad("0.96 9.16 18.83 3/812 12345\n")
	if err != nil || len(load) != 3 || load[0] != 0.96 || load[2] != 18.83 {
		t.Errorf("parseLoad = %v, %v", load, err)
	}
	for _, bad := range []string{"", "1 2", "1 x 3"} {
		if _, err := parseLoad(bad); err == nil {
			t.Errorf("parseLoad(%q) accepted", bad)
		}
	}
	m := ReadMachine(time.Now())
	if m.CPUs < 1 || m.Go == "" || len(m.LoadStart) != 3 || m.Kernel == "" {
		t.Errorf("ReadMachine on this machine: %+v", m)
	}
}
