package metrics

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"gosupervisor/internal/protocol"
)

// parse reads exposition text with the Prometheus project's own parser,
// with legacy (strict) metric and label names.
func parse(t testing.TB, text []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("expfmt: %v\n%s", err, text)
	}
	return fams
}

// value is the sample of family name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	t.Helper()
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && got[k] == v
		}
		if !match {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.Counter.GetValue(), true
		case dto.MetricType_GAUGE:
			return m.Gauge.GetValue(), true
		}
		t.Fatalf("%s has type %v", name, f.GetType())
	}
	return 0, false
}

func sample() *Snapshot {
	start := time.Unix(1700000000, 500000000)
	return &Snapshot{
		Version: "4.2.5", Identifier: `id "with" \ quotes` + "\nand a line",
		NodeExporter: true,
		Processes: []Process{
			{Name: "web_0", Group: "web", State: protocol.StateRunning, Start: start, Spawns: 3, ExitsExpected: 1, ExitsUnexpected: 1,
				Ready: 1, Healthy: 0, HealthCheckFailures: 4, WatchdogTimeouts: 2, OOMKills: 1, RSSLimitRestarts: 5,
				HasUsage: true, CPUSeconds: 12.25, RSSBytes: 64 << 20, HasCgroup: true, CgroupMemoryBytes: 70 << 20},
			{Name: "ünïcode \"q\"", Group: `g\h`, State: protocol.StateFatal, ExitStatus: -1, Ready: -1, Healthy: -1},
			{Name: "never", Group: "never", State: protocol.StateStopped, Ready: -1, Healthy: -1},
		},
	}
}

// TestExposition parses a scrape with expfmt (no error, every family
// once with its type) and checks each metric's values and labels.
func TestExposition(t *testing.T) {
	s := sample()
	text := Append(nil, s)
	fams := parse(t, text)
	wantTypes := map[string]dto.MetricType{
		"supervisord_info": dto.MetricType_GAUGE, "supervisord_process_state": dto.MetricType_GAUGE,
		"supervisord_process_start_time_seconds": dto.MetricType_GAUGE, "supervisord_process_exit_status": dto.MetricType_GAUGE,
		"supervisord_process_spawns_total": dto.MetricType_COUNTER, "supervisord_process_exits_total": dto.MetricType_COUNTER,
		"supervisord_process_ready": dto.MetricType_GAUGE, "supervisord_process_healthy": dto.MetricType_GAUGE,
		"supervisord_process_health_check_failures_total": dto.MetricType_COUNTER, "supervisord_process_watchdog_timeouts_total": dto.MetricType_COUNTER,
		"supervisord_process_oom_kills_total": dto.MetricType_COUNTER, "supervisord_process_rss_limit_restarts_total": dto.MetricType_COUNTER,
		"supervisord_process_cpu_seconds_total": dto.MetricType_COUNTER, "supervisord_process_resident_memory_bytes": dto.MetricType_GAUGE,
		"supervisord_process_cgroup_memory_bytes": dto.MetricType_GAUGE,
		"node_supervisord_state":                  dto.MetricType_GAUGE, "node_supervisord_exit_status": dto.MetricType_GAUGE,
		"node_supervisord_up": dto.MetricType_GAUGE, "node_supervisord_start_time_seconds": dto.MetricType_COUNTER,
	}
	for name, typ := range wantTypes {
		if f := fams[name]; f == nil || f.GetType() != typ {
			t.Errorf("family %s: %v, want type %v", name, f, typ)
		}
	}
	if len(fams) != len(wantTypes) {
		t.Errorf("%d families, want %d", len(fams), len(wantTypes))
	}
	web := map[string]string{"group": "web", "name": "web_0"}
	odd := map[string]string{"group": `g\h`, "name": "ünïcode \"q\""}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range m {
			out[a] = b
		}
		return out
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
		absent bool
	}{
		{"supervisord_info", map[string]string{"version": "4.2.5", "identifier": s.Identifier}, 1, false},
		{"supervisord_process_state", with(web, "state", "RUNNING"), 1, false},
		{"supervisord_process_state", with(web, "state", "STOPPED"), 0, false},
		{"supervisord_process_state", with(odd, "state", "FATAL"), 1, false},
		{"supervisord_process_start_time_seconds", web, 1700000000.5, false},
		{"supervisord_process_start_time_seconds", odd, 0, false},
		{"supervisord_process_exit_status", odd, -1, false},
		{"supervisord_process_spawns_total", web, 3, false},
		{"supervisord_process_exits_total", with(web, "expected", "true"), 1, false},
		{"supervisord_process_exits_total", with(web, "expected", "false"), 1, false},
		{"supervisord_process_ready", web, 1, false},
		{"supervisord_process_ready", odd, 0, true},
		{"supervisord_process_healthy", web, 0, false},
		{"supervisord_process_healthy", odd, 0, true},
		{"supervisord_process_health_check_failures_total", web, 4, false},
		{"supervisord_process_watchdog_timeouts_total", web, 2, false},
		{"supervisord_process_oom_kills_total", web, 1, false},
		{"supervisord_process_rss_limit_restarts_total", web, 5, false},
		{"supervisord_process_cpu_seconds_total", web, 12.25, false},
		{"supervisord_process_cpu_seconds_total", odd, 0, true},
		{"supervisord_process_resident_memory_bytes", web, 64 << 20, false},
		{"supervisord_process_cgroup_memory_bytes", web, 70 << 20, false},
		{"supervisord_process_cgroup_memory_bytes", odd, 0, true},
		{"node_supervisord_state", web, 20, false},
		{"node_supervisord_state", odd, 200, false},
		{"node_supervisord_up", web, 1, false},
		{"node_supervisord_up", odd, 0, false},
		{"node_supervisord_start_time_seconds", web, 1700000000.5, false},
		{"node_supervisord_start_time_seconds", odd, 0, true},
	}
	for _, c := range checks {
		got, ok := value(t, fams, c.name, c.labels)
		switch {
		case c.absent && ok:
			t.Errorf("%s%v present (%v), want absent", c.name, c.labels, got)
		case !c.absent && (!ok || got != c.want):
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	// One state series per state and process, exactly one of them 1.
	for _, p := range s.Processes {
		ones := 0
		for _, st := range protocol.ProcessStates {
			v, ok := value(t, fams, "supervisord_process_state", map[string]string{"group": p.Group, "name": p.Name, "state": st.String()})
			if !ok {
				t.Errorf("%s: no state series for %s", p.Name, st)
			}
			ones += int(v)
		}
		if ones != 1 {
			t.Errorf("%s: %d states at 1", p.Name, ones)
		}
	}
	if plain := Append(nil, &Snapshot{Version: "4.2.5", Identifier: "x", Processes: s.Processes}); strings.Contains(string(plain), "node_supervisord") {
		t.Errorf("node_supervisord_* families without metrics_compat")
	}
}

// TestEmpty: a daemon without programs serves families without samples
// and the info line; still valid.
func TestEmpty(t *testing.T) {
	fams := parse(t, Append(nil, &Snapshot{Version: "4.2.5", Identifier: "supervisor"}))
	if v, ok := value(t, fams, "supervisord_info", nil); !ok || v != 1 {
		t.Errorf("supervisord_info = %v %v", v, ok)
	}
}

// many is a snapshot of n processes, as a daemon with n programs serves.
func many(n int) *Snapshot {
	s := &Snapshot{Version: "4.2.5", Identifier: "supervisor", NodeExporter: true}
	for i := range n {
		s.Processes = append(s.Processes, Process{
			Name: fmt.Sprintf("prog_%03d", i), Group: fmt.Sprintf("group_%02d", i/10), State: protocol.StateRunning,
			Start: time.Unix(1700000000+int64(i), 0), Spawns: uint64(i), ExitsUnexpected: uint64(i / 2), Ready: -1, Healthy: -1,
			HasUsage: true, CPUSeconds: float64(i) * 1.37, RSSBytes: uint64(i) << 20,
		})
	}
	return s
}

func TestManyParse(t *testing.T) {
	fams := parse(t, Append(nil, many(500)))
	if got := len(fams["supervisord_process_state"].Metric); got != 500*len(protocol.ProcessStates) {
		t.Errorf("%d state series, want %d", got, 500*len(protocol.ProcessStates))
	}
}

// BenchmarkAppend500 formats a scrape of 500 programs.
func BenchmarkAppend500(b *testing.B) {
	s := many(500)
	buf := Append(nil, s)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf = Append(buf[:0], s)
	}
}
