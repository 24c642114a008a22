package supervisord_test

import (
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// TestConfigEdgeCasesMatchReference starts both daemons on a config with
// the edge cases of issue 21 that a running daemon shows, and compares
// what the stock XML-RPC API answers:
//   - [group:web] without programs= beside [program:web]: the empty
//     group wins, no process web at all (its config is still listed);
//   - directory= (empty): getAllConfigInfo says ” (absent: 'none');
//   - integers as Python's int() reads them (Unicode digits, '_', signs).
func TestConfigEdgeCasesMatchReference(t *testing.T) {
	testenv.RequireReference(t)
	t.Parallel()
	ours := filepath.Join(testenv.Binaries(t), "supervisord")
	const programs = `[group:web]

[program:web]
command={{helper}} run
environment={{env}}
startsecs=0

; Started after web would be (priority): once it runs, web had its turn.
[program:marker]
command={{helper}} run
environment={{env}}
startsecs=0
priority=1000

[program:emptydir]
command={{helper}} run
environment={{env}}
directory=
autostart=false

[program:nodir]
command={{helper}} run
environment={{env}}
autostart=false
startsecs=٣
startretries=+1_0
stopwaitsecs= ٥
priority=-٢
`
	type configInfo struct {
		Name         string `xmlrpc:"name"`
		Group        string `xmlrpc:"group"`
		Directory    string `xmlrpc:"directory"`
		StartSecs    int    `xmlrpc:"startsecs"`
		StartRetries int    `xmlrpc:"startretries"`
		StopWaitSecs int    `xmlrpc:"stopwaitsecs"`
		Priority     int    `xmlrpc:"process_prio"`
		InUse        bool   `xmlrpc:"inuse"`
	}
	type result struct {
		procs   []string
		configs []configInfo
	}
	results := map[string]result{}
	t.Run("sides", func(t *testing.T) {
		for _, sd := range []struct{ name, bin string }{{"ours", ours}, {"ref", testenv.PythonSupervisord}} {
			t.Run(sd.name, func(t *testing.T) {
				s := newSide(t, sd.name, sd.bin, programs)
				s.start(t, "")
				s.waitStates(t, 10*time.Second, map[string]string{"marker:marker": "RUNNING"})
				infos, err := s.infos(t)
				if err != nil {
					t.Fatal(err)
				}
				var r result
				for _, p := range infos {
					r.procs = append(r.procs, p.Group+":"+p.Name+" "+p.StateName)
				}
				if err := s.call(t, "supervisor.getAllConfigInfo", nil, &r.configs); err != nil {
					t.Fatal(err)
				}
				results[sd.name] = r
				s.stop(t)
			})
		}
	})
	o, r := results["ours"], results["ref"]
	if !reflect.DeepEqual(o, r) {
		t.Errorf("ours %+v\nref  %+v", o, r)
	}
	want := result{
		procs: []string{"emptydir:emptydir STOPPED", "marker:marker RUNNING", "nodir:nodir STOPPED"},
		configs: []configInfo{
			{Name: "emptydir", Group: "emptydir", Directory: "", StartSecs: 1, StartRetries: 3, StopWaitSecs: 10, Priority: 999, InUse: true},
			{Name: "marker", Group: "marker", Directory: "none", StartSecs: 0, StartRetries: 3, StopWaitSecs: 10, Priority: 1000, InUse: true},
			{Name: "nodir", Group: "nodir", Directory: "none", StartSecs: 3, StartRetries: 10, StopWaitSecs: 5, Priority: -2, InUse: true},
			// Listed (in use: its group name is active) but never run.
			{Name: "web", Group: "web", Directory: "none", StartSecs: 0, StartRetries: 3, StopWaitSecs: 10, Priority: 999, InUse: true},
		},
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("ours %+v\nwant %+v", o, want)
	}
}

// TestRPCInterfaceExtraKey: an option in the stock [rpcinterface:supervisor]
// (retries=3) makes the reference refuse to start (its factory takes no
// options); we start, ignore it and say so in one WARN line, however many
// HTTP servers there are.
func TestRPCInterfaceExtraKey(t *testing.T) {
	testenv.RequireReference(t)
	t.Parallel()
	ours := filepath.Join(testenv.Binaries(t), "supervisord")
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	extra := fmt.Sprintf("[rpcinterface:supervisor]\nretries=3\nbackoff=2\n\n[inet_http_server]\nport=127.0.0.1:%d\n", port)

	ref := newSide(t, "ref", testenv.PythonSupervisord, extra)
	got := runCLI(t, ref.dir, ref.bin, "-n", "-c", ref.conf)
	if want := "Error: Could not make supervisor rpc interface\n"; got.code != 2 || !strings.Contains(got.stderr, want) {
		t.Errorf("reference: %+v, want exit 2 and %q", got, want)
	}

	s := newSide(t, "ours", ours, extra)
	s.start(t, "")
	const warn = "WARN RPC interface 'supervisor' takes no options; ignored: backoff, retries"
	s.waitLog(t, 10*time.Second, "supervisord started with pid", 1)
	log := strings.Join(s.logLines(t, "supervisord.log"), "\n")
	if n := strings.Count(log, warn); n != 1 {
		t.Errorf("%q appears %d times in the main log, want once:\n%s", warn, n, log)
	}
	if n := strings.Count(log, "INFO RPC interface 'supervisor' initialized"); n != 2 {
		t.Errorf("the interface was initialized %d times, want once per server (2):\n%s", n, log)
	}
	var state struct {
		Name string `xmlrpc:"statename"`
	}
	if err := s.call(t, "supervisor.getState", nil, &state); err != nil || state.Name != "RUNNING" {
		t.Errorf("getState = %+v, %v", state, err)
	}
	s.stop(t)
}

// TestUnknownKeysWarnedAtStart: a config with a misspelt key, an unknown
// key and a misspelt section starts on both daemons (acceptance is
// unchanged) and runs the same programs; ours says in the main log, once
// each, what it ignores, and nothing else in the log changes.
func TestUnknownKeysWarnedAtStart(t *testing.T) {
	testenv.RequireReference(t)
	t.Parallel()
	ours := filepath.Join(testenv.Binaries(t), "supervisord")
	const programs = `[program:web]
command={{helper}} run
environment={{env}}
startsecs=0
stopwaitsec=60
x_custom=1

[progam:api]
command={{helper}} run
`
	logs := map[string][]string{}
	for _, sd := range []struct{ name, bin string }{{"ours", ours}, {"ref", testenv.PythonSupervisord}} {
		s := newSide(t, sd.name, sd.bin, programs)
		s.start(t, "")
		s.waitStates(t, 10*time.Second, map[string]string{"web:web": "RUNNING"})
		infos, err := s.infos(t)
		if err != nil || len(infos) != 1 {
			t.Fatalf("%s: processes %+v, %v; want web alone", sd.name, infos, err)
		}
		s.stop(t)
		logs[sd.name] = s.logLines(t, "supervisord.log")
	}
	want := []string{
		"WARN unknown key stopwaitsec in [program:web] (DIR/supervisord.conf:20) is ignored; did you mean stopwaitsecs?",
		"WARN unknown key x_custom in [program:web] (DIR/supervisord.conf:21) is ignored",
		"WARN unknown section [progam:api] (DIR/supervisord.conf:23) is ignored; did you mean [program:api]?",
	}
	var ourExtra []string
	for _, line := range logs["ours"] {
		if strings.Contains(line, "unknown ") {
			ourExtra = append(ourExtra, line)
		}
	}
	if !reflect.DeepEqual(ourExtra, want) {
		t.Errorf("our warnings:\n%s\nwant\n%s", strings.Join(ourExtra, "\n"), strings.Join(want, "\n"))
	}
	for _, line := range logs["ref"] {
		if strings.Contains(line, "unknown ") {
			t.Errorf("the reference logs %q", line)
		}
	}
	// Without our lines, the start-up lines are the reference's.
	first := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if strings.Contains(l, "unknown ") {
				continue
			}
			out = append(out, l)
			if strings.Contains(l, "supervisord started with pid") {
				break
			}
		}
		return out
	}
	if o, r := first(logs["ours"]), first(logs["ref"]); !reflect.DeepEqual(o, r) {
		t.Errorf("start-up lines differ:\nours %q\nref  %q", o, r)
	}
}
