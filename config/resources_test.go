package config

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestResourceKeys(t *testing.T) {
	stock := Resources{RSSCheckSecs: 30}
	inf := RlimitInfinity
	tests := []struct {
		name    string
		keys    string
		want    Resources
		wantErr string
	}{
		{name: "none", want: stock},
		{
			name: "one value is soft and hard",
			keys: "rlimit_nofile=4096",
			want: Resources{RSSCheckSecs: 30, Rlimits: []Rlimit{{"rlimit_nofile", unix.RLIMIT_NOFILE, 4096, 4096}}},
		},
		{
			name: "pairs, sizes, infinity, table order",
			keys: "rlimit_stack=8MB:unlimited\nrlimit_core=Infinity\nrlimit_cpu=10:20\nrlimit_as=1gb",
			want: Resources{RSSCheckSecs: 30, Rlimits: []Rlimit{
				{"rlimit_cpu", unix.RLIMIT_CPU, 10, 20},
				{"rlimit_stack", unix.RLIMIT_STACK, 8 << 20, inf},
				{"rlimit_core", unix.RLIMIT_CORE, inf, inf},
				{"rlimit_as", unix.RLIMIT_AS, 1 << 30, 1 << 30},
			}},
		},
		{
			name: "expanded per process",
			keys: "rlimit_nproc=10%(process_num)d\nrlimit_rttime=1000 : 2000",
			want: Resources{RSSCheckSecs: 30, Rlimits: []Rlimit{
				{"rlimit_nproc", unix.RLIMIT_NPROC, 100, 100},
				{"rlimit_rttime", unix.RLIMIT_RTTIME, 1000, 2000},
			}},
		},
		{
			name: "memory threshold",
			keys: "rss_limit=64MB\nrss_check_secs=2",
			want: Resources{RSSLimit: 64 << 20, RSSCheckSecs: 2},
		},
		{
			name: "cgroups",
			keys: "cgroup_memory_max=32MB\ncgroup_memory_high=24mb\ncgroup_cpu_quota=12.5%%\ncgroup_pids_max=5\ncgroup_oom_group=yes",
			want: Resources{RSSCheckSecs: 30, Cgroup: CgroupLimits{MemoryMax: 32 << 20, MemoryHigh: 24 << 20, CPUQuotaPercent: 12.5, PidsMax: 5, OOMGroup: true}},
		},
		{name: "soft above hard", keys: "rlimit_nofile=10:5", wantErr: `rlimit_nofile: bad value "10:5": the soft limit is above the hard limit`},
		{name: "soft infinite, hard not", keys: "rlimit_core=infinity:0", wantErr: `rlimit_core: bad value "infinity:0": the soft limit is above the hard limit`},
		{name: "negative", keys: "rlimit_nofile=-1", wantErr: `rlimit_nofile: bad value "-1": -1 is negative`},
		{name: "not a number", keys: "rlimit_nproc=lots", wantErr: `rlimit_nproc: bad value "lots": invalid literal for int() with base 10: 'lots'`},
		{name: "size suffix on a count", keys: "rlimit_nofile=1KB", wantErr: `rlimit_nofile: bad value "1KB": invalid literal for int() with base 10: '1KB'`},
		{name: "nice range", keys: "rlimit_nice=41", wantErr: `rlimit_nice: bad value "41": RLIMIT_NICE ranges from 0 to 40 (20 minus the lowest nice value)`},
		{name: "rtprio range", keys: "rlimit_rtprio=0:100", wantErr: `rlimit_rtprio: bad value "0:100": RLIMIT_RTPRIO ranges from 0 to 99`},
		{name: "rss refused", keys: "rlimit_rss=1GB", wantErr: "rlimit_rss: has no effect on Linux; use rss_limit or cgroup_memory_max"},
		{name: "rss check zero", keys: "rss_check_secs=0", wantErr: "rss_check_secs: value 0 is less than 1"},
		{name: "rss limit negative", keys: "rss_limit=-5", wantErr: "rss_limit: -5 is negative"},
		{name: "quota as written", keys: "cgroup_cpu_quota=150%", want: Resources{RSSCheckSecs: 30, Cgroup: CgroupLimits{CPUQuotaPercent: 150}}},
		{name: "quota without percent", keys: "cgroup_cpu_quota=1.5", wantErr: `cgroup_cpu_quota: "1.5" is not a percentage like 150%`},
		{name: "quota too small", keys: "cgroup_cpu_quota=0.5%", wantErr: `cgroup_cpu_quota: "0.5%" is outside 1% to 100000%`},
		{name: "pids zero", keys: "cgroup_pids_max=0", wantErr: "cgroup_pids_max: value 0 is less than 1"},
		{name: "oom group", keys: "cgroup_oom_group=perhaps", wantErr: "cgroup_oom_group: not a valid boolean value: 'perhaps'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "[supervisord]\n[program:p]\ncommand=/bin/p\nnumprocs=1\nnumprocs_start=0\n" + tt.keys + "\n"
			cfg, err := loadText(t, text, processKeys())
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr+" in section 'program:p'") {
					t.Fatalf("error %v, want %q in section 'program:p'", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := cfg.Groups[0].Processes[0]
			if !reflect.DeepEqual(p.Resources, tt.want) {
				t.Errorf("Resources = %+v, want %+v", p.Resources, tt.want)
			}
			if p.Resources.Cgroup.Any() != (tt.want.Cgroup != CgroupLimits{}) {
				t.Errorf("Cgroup.Any() = %v", p.Resources.Cgroup.Any())
			}
		})
	}
}

func TestSupervisordResourceKeys(t *testing.T) {
	tests := []struct {
		keys    string
		want    Supervisord
		wantErr string
	}{
		{keys: "", want: Supervisord{}},
		{keys: "cgroups=OFF\nmetrics=yes\nmetrics_compat=node_exporter\nlogfile_format=JSON", want: Supervisord{Cgroups: CgroupsOff, Metrics: true, MetricsCompat: MetricsCompatNodeExporter, LogfileFormat: LogFormatJSON}},
		{keys: "cgroups=v1", wantErr: `cgroups: value "v1" is not one of auto, off`},
		{keys: "metrics=sometimes", wantErr: "metrics: not a valid boolean value: 'sometimes'"},
		{keys: "metrics_compat=ochinchina", wantErr: `metrics_compat: value "ochinchina" is not one of none, node_exporter`},
		{keys: "logfile_format=xml", wantErr: `logfile_format: value "xml" is not one of text, json`},
	}
	for _, tt := range tests {
		t.Run(tt.keys, func(t *testing.T) {
			cfg, err := loadText(t, "[supervisord]\n"+tt.keys+"\n", processKeys())
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr+" in section 'supervisord'") {
					t.Fatalf("error %v, want %q in section 'supervisord'", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s := cfg.Supervisord
			got := Supervisord{Cgroups: s.Cgroups, Metrics: s.Metrics, MetricsCompat: s.MetricsCompat, LogfileFormat: s.LogfileFormat}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// The reference ignores the keys, so its own errors come first, in
// [supervisord] too.
func TestResourceKeyErrorsAfterReferenceErrors(t *testing.T) {
	_, err := loadText(t, "[supervisord]\nmetrics=maybe\n[program:a]\ncommand=/bin/a\nrlimit_nofile=x\n[program:b]\ncommand=/bin/b\nstartretries=x\n", processKeys())
	if err == nil || !strings.Contains(err.Error(), "'x' in section 'program:b'") {
		t.Fatalf("error %v, want the startretries error of program:b", err)
	}
}

// TestResourceEventNames: a listener may subscribe to the opt-in event
// types of issue 16 (the reference refuses them: unknown event type).
func TestResourceEventNames(t *testing.T) {
	text := "[supervisord]\n[eventlistener:l]\ncommand=/bin/x\nevents=PROCESS_RESOURCE,PROCESS_RESOURCE_OOM,process_resource_rss_limit,PROCESS_EXIT_RECORD\n"
	cfg := mustLoadText(t, text, processKeys())
	if got := cfg.Groups[0].Events; len(got) != 4 {
		t.Errorf("events %q", got)
	}
}
