package supervisord_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"gosupervisor/internal/testenv"
)

// metricsDaemon is our daemon serving /metrics on a unix and a TCP
// server, both with Basic auth (user/secret).
type metricsDaemon struct {
	dir, sock string
	port      int
	daemon    *testenv.Daemon
}

// startMetricsDaemon writes a config with the given [supervisord] extras
// and programs and starts our daemon; it returns once /ok.html answers
// on the unix socket with credentials. The TCP port was free a moment
// before the daemon binds it; should anything on the machine have been
// handed it since, the daemon is started again on another one.
func startMetricsDaemon(t *testing.T, supervisordExtra, programs string) *metricsDaemon {
	t.Helper()
	bin := filepath.Join(testenv.Binaries(t), "supervisord")
	d := &metricsDaemon{dir: t.TempDir()}
	d.sock = filepath.Join(d.dir, "sock")
	sum := sha1.Sum([]byte("secret"))
	helper, _ := os.Executable()
	for attempt := 1; ; attempt++ {
		d.port = freeTCPPort(t)
		conf := fmt.Sprintf(`[unix_http_server]
file=%[1]s/sock
username=user
password=secret

[inet_http_server]
port=127.0.0.1:%[2]d
username=user
password={SHA}%[3]s

[supervisord]
logfile=%[1]s/supervisord.log
pidfile=%[1]s/supervisord.pid
childlogdir=%[1]s
minfds=4096
%[4]s

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

%[5]s
`, d.dir, d.port, hex.EncodeToString(sum[:]), supervisordExtra,
			strings.NewReplacer("{{helper}}", helper, "{{env}}", helperEnv+"=1", "{{dir}}", d.dir).Replace(programs))
		confPath := filepath.Join(d.dir, "supervisord.conf")
		if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		d.daemon = testenv.Start(t, d.dir, bin, "-n", "-c", confPath)
		daemon := d.daemon
		t.Cleanup(func() { daemon.Stop(t, 60*time.Second) })
		exited := false
		testenv.Eventually(t, 30*time.Second, func() error {
			select {
			case <-d.daemon.Exited:
				exited = true
				return nil
			default:
			}
			if code, _, body := d.get("unix", "/ok.html", true); code != http.StatusOK {
				return fmt.Errorf("ok.html: %d %s", code, body)
			}
			return nil
		})
		if !exited {
			return d
		}
		stderr := d.daemon.Stderr.String()
		if attempt == 3 || !strings.Contains(stderr, "Another program is already listening on a port") {
			t.Fatalf("daemon exited: %v\n%s", d.daemon.ExitErr, stderr)
		}
		t.Logf("port %d was taken before the daemon bound it; again on another one", d.port)
	}
}

// get fetches path from the unix ("unix") or TCP ("inet") server.
func (d *metricsDaemon) get(server, path string, auth bool) (int, http.Header, []byte) {
	client, url := testenv.UnixClient(d.sock), "http://localhost"+path
	if server == "inet" {
		client, url = &http.Client{Timeout: 30 * time.Second}, fmt.Sprintf("http://127.0.0.1:%d%s", d.port, path)
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth {
		req.SetBasicAuth("user", "secret")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, []byte(err.Error())
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// scrape reads /metrics from server and parses it with the Prometheus
// project's parser (strict names).
func (d *metricsDaemon) scrape(t *testing.T, server string) map[string]*dto.MetricFamily {
	t.Helper()
	code, hdr, body := d.get(server, "/metrics", true)
	if code != http.StatusOK {
		t.Fatalf("%s /metrics: %d %s", server, code, body)
	}
	if ct := hdr.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("%s /metrics Content-Type %q", server, ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s /metrics does not parse: %v\n%s", server, err, body)
	}
	return fams
}

// series is a family's values by their labels other than group
// ("name=x,state=RUNNING").
func series(f *dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	if f == nil {
		return out
	}
	for _, m := range f.Metric {
		var key []string
		for _, l := range m.Label {
			if l.GetName() != "group" {
				key = append(key, l.GetName()+"="+l.GetValue())
			}
		}
		v := m.GetGauge().GetValue()
		if m.Counter != nil {
			v = m.Counter.GetValue()
		}
		out[strings.Join(key, ",")] = v
	}
	return out
}

// TestMetricsAuthFormatAndCounters: with metrics=true both servers serve
// /metrics behind their Basic auth (401 without or with wrong
// credentials); the text parses with expfmt and has the spec's families
// and node_exporter's; across crash churn every counter only grows.
func TestMetricsAuthFormatAndCounters(t *testing.T) {
	d := startMetricsDaemon(t, "metrics=true\nmetrics_compat=node_exporter", `
[program:crasher]
command={{helper}} exit 1 50
environment={{env}}
startsecs=0
autorestart=true
startretries=1000

[program:sleeper]
command=cat
`)
	for _, server := range []string{"unix", "inet"} {
		if code, _, body := d.get(server, "/metrics", false); code != http.StatusUnauthorized || bytes.Contains(body, []byte("supervisord_")) {
			t.Errorf("%s /metrics without credentials: %d, want 401 and no metrics", server, code)
		}
	}
	fams := d.scrape(t, "inet")
	for _, name := range []string{
		"supervisord_info", "supervisord_process_state", "supervisord_process_start_time_seconds",
		"supervisord_process_exit_status", "supervisord_process_spawns_total", "supervisord_process_exits_total",
		"supervisord_process_health_check_failures_total", "supervisord_process_watchdog_timeouts_total",
		"supervisord_process_oom_kills_total", "supervisord_process_rss_limit_restarts_total",
		"node_supervisord_up", "node_supervisord_state", "node_supervisord_exit_status", "node_supervisord_start_time_seconds",
	} {
		if fams[name] == nil {
			t.Errorf("no family %s", name)
		}
	}
	counters := []string{"supervisord_process_spawns_total", "supervisord_process_exits_total", "supervisord_process_cpu_seconds_total"}
	last := map[string]float64{}
	for i := range 12 {
		server := []string{"unix", "inet"}[i%2]
		fams := d.scrape(t, server)
		for _, name := range counters {
			for key, v := range series(fams[name]) {
				if prev, ok := last[name+"{"+key+"}"]; ok && v < prev {
					t.Errorf("scrape %d: %s{%s} went down from %v to %v", i, name, key, prev, v)
				}
				last[name+"{"+key+"}"] = v
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	spawns := last["supervisord_process_spawns_total{name=crasher}"]
	exits := last["supervisord_process_exits_total{name=crasher,expected=false}"]
	if spawns < 5 || exits < 4 {
		t.Errorf("crasher: %v spawns, %v unexpected exits after the churn; want several of each (%v)", spawns, exits, last)
	}
	if up := series(d.scrape(t, "unix")["node_supervisord_up"])["name=sleeper"]; up != 1 {
		t.Errorf("node_supervisord_up{sleeper} = %v, want 1", up)
	}
	t.Logf("after the churn: crasher %v spawns, %v unexpected exits", spawns, exits)
}

// TestMetricsOffByDefault: without metrics=true no server serves metrics.
func TestMetricsOffByDefault(t *testing.T) {
	d := startMetricsDaemon(t, "", "[program:sleeper]\ncommand=cat\n")
	for _, server := range []string{"unix", "inet"} {
		code, _, body := d.get(server, "/metrics", true)
		if code == http.StatusOK || bytes.Contains(body, []byte("supervisord_info")) {
			t.Errorf("%s /metrics without metrics=true: %d\n%.200s", server, code, body)
		}
	}
}

// cpuTime is the CPU time a process's threads have had, from each
// one's /proc/<pid>/task/<tid>/schedstat: nanoseconds, where /proc/<pid>/stat
// counts 10 ms ticks, too coarse for a window of a few scrapes.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	var total time.Duration
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name()))
		if err != nil {
			continue // the thread ended since the listing
		}
		ns, err := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
		if err != nil {
			t.Fatalf("schedstat %q: %v", b, err)
		}
		total += time.Duration(ns)
	}
	return total
}

// TestMetricsScrapeCost500: a scrape of 500 programs costs the daemon
// under 5 ms of CPU. A scrape that finds the last sample of the process
// trees a second old or more asks for a new one in the background (one
// /proc scan, whose cost scales with the machine's processes, not with
// the programs or the scrapes); that sample is measured apart. The
// scrapes are measured in windows that start once the daemon is idle
// again after the sample a first scrape triggered (a loaded machine may
// stretch the sample over most of the second) and end within the second
// that sample stays fresh, so no window holds a sample's cost; the cost
// is the least of five windows, which load only inflates.
func TestMetricsScrapeCost500(t *testing.T) {
	var progs strings.Builder
	progs.WriteString("[program:idle]\ncommand=cat\nnumprocs=500\nprocess_name=%(program_name)s_%(process_num)03d\nstartsecs=0\nstdout_logfile=NONE\nstderr_logfile=NONE\n")
	d := startMetricsDaemon(t, "metrics=true", progs.String())
	pid := d.daemon.Cmd.Process.Pid
	testenv.Eventually(t, 120*time.Second, func() error {
		running := series(d.scrape(t, "unix")["supervisord_process_state"])
		n := 0
		for key, v := range running {
			if strings.HasSuffix(key, ",state=RUNNING") && v == 1 {
				n++
			}
		}
		if n != 500 {
			return fmt.Errorf("%d of 500 RUNNING", n)
		}
		return nil
	})
	scrape := func() int {
		code, _, body := d.get("unix", "/metrics", true)
		if code != http.StatusOK {
			t.Fatalf("scrape: %d", code)
		}
		return len(body)
	}
	// idle waits until the daemon takes under a millisecond of CPU in
	// 50 ms (its background sample is over), or until deadline.
	idle := func(deadline time.Time) bool {
		for last := cpuTime(t, pid); time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
			now := cpuTime(t, pid)
			if now-last < time.Millisecond {
				return true
			}
			last = now
		}
		return false
	}
	var sampleCPU []time.Duration
	var perWindow []time.Duration
	scrapes, size := 0, 0
	for round := 0; len(perWindow) < 5; round++ {
		if round == 20 {
			t.Fatalf("in 20 tries, only %d windows came after the background sample and within its second", len(perWindow))
		}
		time.Sleep(1100 * time.Millisecond) // the last sample is stale
		before, triggered := cpuTime(t, pid), time.Now()
		scrape() // triggers a background sample
		end := triggered.Add(800 * time.Millisecond)
		if !idle(end.Add(-200 * time.Millisecond)) {
			continue
		}
		start := cpuTime(t, pid)
		sampleCPU = append(sampleCPU, start-before)
		n := 0
		for ; n == 0 || time.Now().Before(end); n++ {
			size = scrape()
		}
		perWindow = append(perWindow, (cpuTime(t, pid)-start)/time.Duration(n))
		scrapes += n
	}
	perScrape := slices.Min(perWindow)
	procs, _ := os.ReadDir("/proc")
	t.Logf("500 programs: %d bytes per scrape, daemon CPU %v per scrape (the least of five windows: %v; %d scrapes); a scrape with its background /proc sample: %v (this machine: %d /proc entries)",
		size, perScrape, perWindow, scrapes, sampleCPU, len(procs))
	if perScrape >= 5*time.Millisecond {
		t.Errorf("daemon CPU per scrape %v, want under 5 ms", perScrape)
	}
}
