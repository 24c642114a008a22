package supervisord_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// resourceKeysConfig uses every key of issue 16. cgroups=off keeps our
// daemon off this machine's cgroup hierarchies (the real cgroup tests are
// in the engine, in leaves of their own); the cgroup_* keys are still
// read.
const resourceKeysConfig = `[unix_http_server]
file={{dir}}/supervisor.sock

[supervisord]
logfile={{dir}}/supervisord.log
pidfile={{dir}}/supervisord.pid
childlogdir={{dir}}
cgroups=off
metrics=true
metrics_compat=node_exporter
logfile_format=json

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:limited]
command=cat
numprocs=2
process_name=%(program_name)s_%(process_num)d
startsecs=1
rlimit_cpu=600:1200
rlimit_fsize=1GB
rlimit_data=infinity
rlimit_stack=8MB:unlimited
rlimit_core=0
rlimit_as=infinity
rlimit_memlock=64KB
rlimit_msgqueue=800KB
rlimit_nofile=4096:8192
rlimit_nproc=4096
rlimit_locks=1000
rlimit_sigpending=1000
rlimit_nice=0
rlimit_rtprio=0
rlimit_rttime=1000000
rss_limit=512MB
rss_check_secs=10
cgroup_memory_max=256MB
cgroup_memory_high=200MB
cgroup_cpu_quota=150%
cgroup_pids_max=64
cgroup_oom_group=true
`

// TestReferenceStartsResourceConfig: the same config, with every key of
// issue 16, starts under the Python reference (which ignores the keys:
// its programs reach RUNNING with the daemon's own limits) and under ours
// (whose programs run with the limits: /proc/<pid>/limits).
func TestReferenceStartsResourceConfig(t *testing.T) {
	testenv.RequireReference(t)
	ours := filepath.Join(testenv.Binaries(t), "supervisord")
	for _, tc := range []struct{ name, bin string }{{"ref", testenv.PythonSupervisord}, {"ours", ours}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSide(t, tc.name, tc.bin, "")
			if err := os.WriteFile(s.conf, []byte(s.expand(resourceKeysConfig)), 0o644); err != nil {
				t.Fatal(err)
			}
			s.start(t, "")
			var infos []procInfo
			testenv.Eventually(t, 30*time.Second, func() error {
				var err error
				if infos, err = s.infos(t); err != nil {
					return err
				}
				for _, p := range infos {
					if p.StateName != "RUNNING" {
						return fmt.Errorf("%s is %s (%s)", p.Name, p.StateName, p.SpawnErr)
					}
				}
				if len(infos) != 2 {
					return fmt.Errorf("%d processes, want 2", len(infos))
				}
				return nil
			})
			for _, p := range infos {
				b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", p.PID))
				if err != nil {
					t.Fatal(err)
				}
				nofile := ""
				for _, line := range strings.Split(string(b), "\n") {
					if strings.HasPrefix(line, "Max open files") {
						nofile = strings.Join(strings.Fields(line)[3:5], " ")
					}
				}
				if limited := nofile == "4096 8192"; limited != (tc.name == "ours") {
					t.Errorf("%s: %s's Max open files %q (want 4096 8192 with ours only)", tc.name, p.Name, nofile)
				}
			}
			log, _ := os.ReadFile(s.log)
			if strings.Contains(string(log), "Traceback") || strings.Contains(string(log), "rror") {
				t.Errorf("%s complained:\n%s", tc.name, log)
			}
			// The reference ignores logfile_format; ours writes JSON.
			if json := strings.HasPrefix(string(log), "{"); json != (tc.name == "ours") {
				t.Errorf("%s: main log starts %.60q", tc.name, log)
			}
			s.stop(t)
			t.Logf("%s: both processes RUNNING", tc.name)
		})
	}
}
