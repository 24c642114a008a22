// Package metrics writes supervisord's state as Prometheus metrics in the
// text exposition format, version 0.0.4: one family per metric, HELP and
// TYPE lines before its samples, labels group and name on every process
// series. It is written by hand (no client library): the daemon hands it
// a snapshot of plain values and it only formats them, so a scrape costs
// a few hundred bytes of formatting per process and never waits on the
// engine.
//
// Metric names are gosupervisor's (supervisord_*); with NodeExporter
// set, node_exporter's supervisord collector names (node_supervisord_*)
// are served too, with that collector's values, so existing dashboards
// keep working.
package metrics

import (
	"math"
	"strconv"
	"strings"
	"time"

	"gosupervisor/internal/protocol"
)

// ContentType is the exposition format's media type.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Snapshot is everything one scrape shows.
type Snapshot struct {
	Version    string // supervisord_info{version}
	Identifier string // supervisord_info{identifier}
	Processes  []Process
	// NodeExporter adds node_exporter's node_supervisord_* families.
	NodeExporter bool
}

// Process is one process's figures. Counters count since the daemon
// (re)loaded the process's config and never go down in between.
type Process struct {
	Name, Group string
	State       protocol.ProcessState
	// Start is when the current (or last) instance started; zero = never.
	Start      time.Time
	ExitStatus int
	// Spawns counts spawn attempts; ExitsExpected and ExitsUnexpected
	// count exits by whether the exit status was in exitcodes=.
	Spawns, ExitsExpected, ExitsUnexpected uint64
	// Ready and Healthy are -1 when the program has no readiness
	// notification or health check (the series is left out), else 0/1.
	Ready, Healthy int
	// Counters of the engine's own interventions and the kernel's.
	HealthCheckFailures, WatchdogTimeouts, OOMKills, RSSLimitRestarts uint64
	// Usage is the process tree's CPU and memory at the last sample;
	// HasUsage is false when there is none (not running, not sampled).
	HasUsage   bool
	CPUSeconds float64
	RSSBytes   uint64
	// CgroupMemoryBytes is the program's cgroup's memory.current
	// (usage_in_bytes on v1); HasCgroup is false without a cgroup.
	HasCgroup         bool
	CgroupMemoryBytes uint64
}

// family is one metric family's name, help and type.
type family struct{ name, help, typ string }

// Append writes s to b in the text format and returns the extended
// buffer.
func Append(b []byte, s *Snapshot) []byte {
	w := writer{b: b}
	// Each process's `{group="…",name="…"` once, for its ~20 series.
	w.labels = make([][]byte, len(s.Processes))
	var all []byte
	for i := range s.Processes {
		start := len(all)
		all = append(all, "{group="...)
		all = appendQuoted(all, s.Processes[i].Group)
		all = append(all, ",name="...)
		all = appendQuoted(all, s.Processes[i].Name)
		w.labels[i] = all[start:len(all):len(all)]
	}
	w.family(family{"supervisord_info", "gosupervisor's version and identifier; always 1.", "gauge"})
	w.b = append(w.b, "supervisord_info{version="...)
	w.quote(s.Version)
	w.b = append(w.b, ",identifier="...)
	w.quote(s.Identifier)
	w.b = append(w.b, "} 1\n"...)

	w.family(family{"supervisord_process_state", "Whether the process is in the state (1) or not (0): one series per state.", "gauge"})
	for i := range s.Processes {
		p := &s.Processes[i]
		for _, st := range protocol.ProcessStates {
			w.series("supervisord_process_state", i, "state", st.String())
			w.bool(p.State == st)
		}
	}
	perProcess := func(f family, value func(p *Process) (float64, bool)) {
		w.family(f)
		for i := range s.Processes {
			p := &s.Processes[i]
			if v, ok := value(p); ok {
				w.series(f.name, i, "", "")
				w.float(v)
			}
		}
	}
	counter := func(name, help string, value func(p *Process) uint64) {
		perProcess(family{name, help, "counter"}, func(p *Process) (float64, bool) { return float64(value(p)), true })
	}
	perProcess(family{"supervisord_process_start_time_seconds", "When the current or last instance started, in seconds since the epoch (0 = never).", "gauge"},
		func(p *Process) (float64, bool) { return unixSeconds(p.Start), true })
	perProcess(family{"supervisord_process_exit_status", "The exit status of the last exit (-1 after a signal).", "gauge"},
		func(p *Process) (float64, bool) { return float64(p.ExitStatus), true })
	counter("supervisord_process_spawns_total", "Spawn attempts.", func(p *Process) uint64 { return p.Spawns })
	w.family(family{"supervisord_process_exits_total", "Exits, by whether the exit status was expected (exitcodes).", "counter"})
	for i := range s.Processes {
		p := &s.Processes[i]
		w.series("supervisord_process_exits_total", i, "expected", "true")
		w.uint(p.ExitsExpected)
		w.series("supervisord_process_exits_total", i, "expected", "false")
		w.uint(p.ExitsUnexpected)
	}
	flag := func(v int) (float64, bool) { return float64(v), v >= 0 }
	perProcess(family{"supervisord_process_ready", "Whether the program reported READY=1 (sd_notify); absent without notify.", "gauge"},
		func(p *Process) (float64, bool) { return flag(p.Ready) })
	perProcess(family{"supervisord_process_healthy", "Whether the last health checks passed; absent without a health check.", "gauge"},
		func(p *Process) (float64, bool) { return flag(p.Healthy) })
	counter("supervisord_process_health_check_failures_total", "Failed health checks.", func(p *Process) uint64 { return p.HealthCheckFailures })
	counter("supervisord_process_watchdog_timeouts_total", "Instances ended by the sd_notify watchdog (a missed keep-alive or WATCHDOG=trigger).", func(p *Process) uint64 { return p.WatchdogTimeouts })
	counter("supervisord_process_oom_kills_total", "Instances killed by the OOM killer.", func(p *Process) uint64 { return p.OOMKills })
	counter("supervisord_process_rss_limit_restarts_total", "Restarts because the process tree's RSS exceeded rss_limit.", func(p *Process) uint64 { return p.RSSLimitRestarts })
	perProcess(family{"supervisord_process_cpu_seconds_total", "CPU time of the process tree, user and system, of every instance so far.", "counter"},
		func(p *Process) (float64, bool) { return p.CPUSeconds, p.HasUsage })
	perProcess(family{"supervisord_process_resident_memory_bytes", "Resident memory of the process tree (each process's RSS summed).", "gauge"},
		func(p *Process) (float64, bool) { return float64(p.RSSBytes), p.HasUsage })
	perProcess(family{"supervisord_process_cgroup_memory_bytes", "Memory charged to the program's cgroup.", "gauge"},
		func(p *Process) (float64, bool) { return float64(p.CgroupMemoryBytes), p.HasCgroup })

	if s.NodeExporter {
		// node_exporter's collector: state as Supervisor's number, up
		// for STARTING, RUNNING and STOPPING, a start time only then.
		perProcess(family{"node_supervisord_state", "Process State", "gauge"},
			func(p *Process) (float64, bool) { return float64(p.State), true })
		perProcess(family{"node_supervisord_exit_status", "Process Exit Status", "gauge"},
			func(p *Process) (float64, bool) { return float64(p.ExitStatus), true })
		perProcess(family{"node_supervisord_up", "Process Up", "gauge"},
			func(p *Process) (float64, bool) { return b2f(upInNodeExporter(p.State)), true })
		perProcess(family{"node_supervisord_start_time_seconds", "Process start time", "counter"},
			func(p *Process) (float64, bool) { return unixSeconds(p.Start), upInNodeExporter(p.State) })
	}
	return w.b
}

func upInNodeExporter(s protocol.ProcessState) bool {
	return s == protocol.StateStarting || s == protocol.StateRunning || s == protocol.StateStopping
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// writer appends the text format to b.
type writer struct {
	b []byte
	// labels are each process's quoted group and name labels.
	labels [][]byte
}

func (w *writer) family(f family) {
	w.b = append(w.b, "# HELP "...)
	w.b = append(w.b, f.name...)
	w.b = append(w.b, ' ')
	w.b = append(w.b, f.help...)
	w.b = append(w.b, "\n# TYPE "...)
	w.b = append(w.b, f.name...)
	w.b = append(w.b, ' ')
	w.b = append(w.b, f.typ...)
	w.b = append(w.b, '\n')
}

// series starts a sample line for process i: the name, its group and
// name labels, an optional extra label; the value follows.
func (w *writer) series(name string, i int, label, value string) {
	w.b = append(w.b, name...)
	w.b = append(w.b, w.labels[i]...)
	if label != "" {
		w.b = append(w.b, ',')
		w.b = append(w.b, label...)
		w.b = append(w.b, '=')
		w.b = appendQuoted(w.b, value)
	}
	w.b = append(w.b, "} "...)
}

func (w *writer) quote(s string) { w.b = appendQuoted(w.b, s) }

// appendQuoted appends a label value: backslash, double quote and line
// feed are escaped, as the format requires.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	if !strings.ContainsAny(s, "\\\"\n") {
		b = append(b, s...)
	} else {
		for i := 0; i < len(s); i++ {
			switch c := s[i]; c {
			case '\\':
				b = append(b, `\\`...)
			case '"':
				b = append(b, `\"`...)
			case '\n':
				b = append(b, `\n`...)
			default:
				b = append(b, c)
			}
		}
	}
	return append(b, '"')
}

func (w *writer) bool(v bool) {
	if v {
		w.b = append(w.b, "1\n"...)
	} else {
		w.b = append(w.b, "0\n"...)
	}
}

func (w *writer) uint(v uint64) {
	w.b = strconv.AppendUint(w.b, v, 10)
	w.b = append(w.b, '\n')
}

func (w *writer) float(v float64) {
	switch {
	case math.IsNaN(v):
		w.b = append(w.b, "NaN"...)
	case math.IsInf(v, 1):
		w.b = append(w.b, "+Inf"...)
	case math.IsInf(v, -1):
		w.b = append(w.b, "-Inf"...)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		w.b = strconv.AppendInt(w.b, int64(v), 10)
	default:
		w.b = strconv.AppendFloat(w.b, v, 'g', -1, 64)
	}
	w.b = append(w.b, '\n')
}
