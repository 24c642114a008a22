package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Resources are a program's resource settings (extension keys of issue
// 16): rlimits, the memory threshold restart and cgroup limits.
type Resources struct {
	// Rlimits are the rlimit_* keys given, in the table's order (unset
	// keys inherit the daemon's limits, as without them).
	Rlimits []Rlimit
	// RSSLimit is rss_limit in bytes (0 = no threshold): the RSS of the
	// program's whole process tree that makes gosupervisor restart it.
	RSSLimit int64
	// RSSCheckSecs is rss_check_secs (default 30): how often the tree's
	// RSS is sampled while RSSLimit is set.
	RSSCheckSecs int
	// Cgroup is the cgroup_* keys.
	Cgroup CgroupLimits
}

// Rlimit is one rlimit_* key.
type Rlimit struct {
	// Key is the key as written in the table, e.g. "rlimit_nofile".
	Key string
	// Resource is the RLIMIT_* number.
	Resource int
	// Soft and Hard are the limits; RlimitInfinity is unlimited.
	Soft, Hard uint64
}

// RlimitInfinity is RLIM_INFINITY: no limit.
const RlimitInfinity = ^uint64(0)

// CgroupLimits are a program's cgroup_* keys; zero values are unset.
type CgroupLimits struct {
	// MemoryMax is cgroup_memory_max in bytes (memory.max, v1
	// memory.limit_in_bytes): the cgroup is OOM-killed above it.
	MemoryMax int64
	// MemoryHigh is cgroup_memory_high in bytes (memory.high, v2 only):
	// the cgroup is throttled and reclaimed above it.
	MemoryHigh int64
	// CPUQuotaPercent is cgroup_cpu_quota ("150%" = 150): the share of
	// one CPU the cgroup may use per period.
	CPUQuotaPercent float64
	// PidsMax is cgroup_pids_max (pids.max): tasks the cgroup may hold.
	PidsMax int
	// OOMGroup is cgroup_oom_group (memory.oom.group, v2 only): an OOM
	// kill takes the whole cgroup.
	OOMGroup bool
}

// Any reports whether a cgroup key is set, i.e. the program gets a cgroup
// of its own.
func (c CgroupLimits) Any() bool { return c != CgroupLimits{} }

// rlimitKind is how a rlimit_* value's numbers are read.
type rlimitKind int

const (
	rlimitCount rlimitKind = iota // a plain integer
	rlimitBytes                   // Supervisor's byte_size (512MB)
)

// rlimitKeys are the rlimit_* keys in the order they are applied. The
// resource names and units are systemd's LimitXXX= (systemd.exec(5));
// rlimit_rss is refused: RLIMIT_RSS has no effect on Linux.
var rlimitKeys = []struct {
	key      string
	resource int
	kind     rlimitKind
}{
	{"rlimit_cpu", unix.RLIMIT_CPU, rlimitCount}, // seconds
	{"rlimit_fsize", unix.RLIMIT_FSIZE, rlimitBytes},
	{"rlimit_data", unix.RLIMIT_DATA, rlimitBytes},
	{"rlimit_stack", unix.RLIMIT_STACK, rlimitBytes},
	{"rlimit_core", unix.RLIMIT_CORE, rlimitBytes},
	{"rlimit_as", unix.RLIMIT_AS, rlimitBytes},
	{"rlimit_memlock", unix.RLIMIT_MEMLOCK, rlimitBytes},
	{"rlimit_msgqueue", unix.RLIMIT_MSGQUEUE, rlimitBytes},
	{"rlimit_nofile", unix.RLIMIT_NOFILE, rlimitCount},
	{"rlimit_nproc", unix.RLIMIT_NPROC, rlimitCount},
	{"rlimit_locks", unix.RLIMIT_LOCKS, rlimitCount},
	{"rlimit_sigpending", unix.RLIMIT_SIGPENDING, rlimitCount},
	{"rlimit_nice", unix.RLIMIT_NICE, rlimitCount},     // 0..40: 20 - the lowest nice value allowed
	{"rlimit_rtprio", unix.RLIMIT_RTPRIO, rlimitCount}, // 0..99
	{"rlimit_rttime", unix.RLIMIT_RTTIME, rlimitCount}, // microseconds
}

// parseRlimit reads an rlimit_* value: "N" (soft and hard), "soft:hard",
// each a number (a byte_size for size limits) or infinity/unlimited.
func parseRlimit(key string, kind rlimitKind, v string) (soft, hard uint64, err error) {
	one := func(s string) (uint64, error) {
		s = strings.TrimSpace(s)
		switch strings.ToLower(s) {
		case "infinity", "unlimited":
			return RlimitInfinity, nil
		}
		var n int64
		var err error
		if kind == rlimitBytes {
			n, err = ParseByteSize(s)
		} else {
			var i int
			i, err = ParseInteger(s)
			n = int64(i)
		}
		if err != nil {
			return 0, err
		}
		if n < 0 {
			return 0, fmt.Errorf("%d is negative", n)
		}
		return uint64(n), nil
	}
	fail := func(err error) (uint64, uint64, error) {
		return 0, 0, fmt.Errorf("bad value %q: %v", v, err)
	}
	s, h, pair := strings.Cut(v, ":")
	if soft, err = one(s); err != nil {
		return fail(err)
	}
	hard = soft
	if pair {
		if hard, err = one(h); err != nil {
			return fail(err)
		}
	}
	if soft > hard {
		return fail(errors.New("the soft limit is above the hard limit"))
	}
	switch key {
	case "rlimit_nice":
		if hard != RlimitInfinity && hard > 40 {
			return fail(errors.New("RLIMIT_NICE ranges from 0 to 40 (20 minus the lowest nice value)"))
		}
	case "rlimit_rtprio":
		if hard != RlimitInfinity && hard > 99 {
			return fail(errors.New("RLIMIT_RTPRIO ranges from 0 to 99"))
		}
	}
	return soft, hard, nil
}

// parseCPUQuota reads cgroup_cpu_quota: a percentage of one CPU ("150%"),
// at least 1% (the kernel's smallest quota is 1 ms per 100 ms period).
func parseCPUQuota(v string) (float64, error) {
	num, ok := strings.CutSuffix(strings.TrimSpace(v), "%")
	num = strings.TrimSuffix(num, "%")
	if !ok {
		return 0, fmt.Errorf("%q is not a percentage like 150%%", v)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a percentage like 150%%", v)
	}
	if f < 1 || f > 100000 {
		return 0, fmt.Errorf("%q is outside 1%% to 100000%%", v)
	}
	return f, nil
}

// resourceRows are the extension keys of issue 16, read per process so
// that %(process_num)d and ENV_ names expand in them as in command=.
func resourceRows() []keyRow {
	res := func(p *Process) *Resources { return &p.Resources }
	var rows []keyRow
	for _, k := range rlimitKeys {
		rows = append(rows, keyRow{name: k.key, optional: true, set: func(c *keyCtx, v string) error {
			soft, hard, err := parseRlimit(k.key, k.kind, v)
			if err == nil {
				r := res(c.proc)
				r.Rlimits = append(r.Rlimits, Rlimit{Key: k.key, Resource: k.resource, Soft: soft, Hard: hard})
			}
			return err
		}})
	}
	size := func(v string) (int64, error) {
		n, err := ParseByteSize(v)
		if err == nil && n < 0 {
			err = fmt.Errorf("%s is negative", v)
		}
		return n, err
	}
	rows = append(rows,
		keyRow{name: "rlimit_rss", optional: true, set: func(*keyCtx, string) error {
			return errors.New("has no effect on Linux; use rss_limit or cgroup_memory_max")
		}},
		keyRow{name: "rss_limit", def: "0", set: parsed(size, func(p *Process) *int64 { return &p.Resources.RSSLimit })},
		keyRow{name: "rss_check_secs", def: "30", set: parsed(atLeast(1), func(p *Process) *int { return &p.Resources.RSSCheckSecs })},
		keyRow{name: "cgroup_memory_max", optional: true, set: parsed(size, func(p *Process) *int64 { return &p.Resources.Cgroup.MemoryMax })},
		keyRow{name: "cgroup_memory_high", optional: true, set: parsed(size, func(p *Process) *int64 { return &p.Resources.Cgroup.MemoryHigh })},
		// Read as written: "150%" is no %-expansion (its escaped form
		// "150%%" is accepted too).
		keyRow{name: "cgroup_cpu_quota", optional: true, raw: true, set: parsed(parseCPUQuota, func(p *Process) *float64 { return &p.Resources.Cgroup.CPUQuotaPercent })},
		keyRow{name: "cgroup_pids_max", optional: true, set: parsed(atLeast(1), func(p *Process) *int { return &p.Resources.Cgroup.PidsMax })},
		keyRow{name: "cgroup_oom_group", def: "false", set: parsed(ParseBool, func(p *Process) *bool { return &p.Resources.Cgroup.OOMGroup })},
	)
	for i := range rows {
		rows[i].stage = stageProcess
		rows[i].extension = true
		rows[i].set = namedErrors(rows[i].name, rows[i].set)
	}
	return rows
}

// namedErrors makes set's errors start with the key's name.
func namedErrors(key string, set func(*keyCtx, string) error) func(*keyCtx, string) error {
	return func(c *keyCtx, v string) error {
		if err := set(c, v); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	}
}

// CgroupsMode is [supervisord] cgroups.
type CgroupsMode int

// The cgroups modes.
const (
	// CgroupsAuto gives programs with cgroup_* keys a cgroup when the
	// daemon may create them, and warns once at start-up when not.
	CgroupsAuto CgroupsMode = iota
	// CgroupsOff ignores the cgroup_* keys.
	CgroupsOff
)

// MetricsCompat is [supervisord] metrics_compat.
type MetricsCompat int

// The metrics_compat values.
const (
	MetricsCompatNone MetricsCompat = iota
	// MetricsCompatNodeExporter adds node_exporter's supervisord
	// collector names (node_supervisord_*).
	MetricsCompatNodeExporter
)

// LogFormat is [supervisord] logfile_format.
type LogFormat int

// The main log's formats.
const (
	// LogFormatText is Supervisor's own line format.
	LogFormatText LogFormat = iota
	// LogFormatJSON is one JSON object per line.
	LogFormatJSON
)

// supervisordResources reads the [supervisord] extension keys of issue
// 16: cgroups, metrics, metrics_compat, logfile_format.
func (l *loader) supervisordResources(s *Supervisord, here expansions) error {
	const sec = "supervisord"
	choice := func(key, def string, values ...string) (int, error) {
		v, err := l.getDefault(sec, key, def, here)
		if err != nil {
			return 0, err
		}
		for i, want := range values {
			if strings.EqualFold(strings.TrimSpace(v), want) {
				return i, nil
			}
		}
		return 0, fmt.Errorf("%s: value %q is not one of %s", key, v, strings.Join(values, ", "))
	}
	mode, err := choice("cgroups", "auto", "auto", "off")
	if err != nil {
		return err
	}
	s.Cgroups = CgroupsMode(mode)
	v, err := l.getDefault(sec, "metrics", "false", here)
	if err == nil {
		s.Metrics, err = ParseBool(v)
	}
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	compat, err := choice("metrics_compat", "none", "none", "node_exporter")
	if err != nil {
		return err
	}
	s.MetricsCompat = MetricsCompat(compat)
	format, err := choice("logfile_format", "text", "text", "json")
	if err != nil {
		return err
	}
	s.LogfileFormat = LogFormat(format)
	return nil
}
