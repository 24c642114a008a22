package blackbox

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// runCompat starts impl on programs and runs one scenario of
// testdata/compat.py against it.
func runCompat(t *testing.T, impl implementation, programs, scenario string) []entry {
	t.Helper()
	return runCompatOn(t, newSide(t, impl, programs), scenario)
}

// compareExact fails for each step whose results differ, but for steps
// labelled "(ours only)", which the caller checks itself. With allow500,
// the reference's HTTP 500 (a Python exception on a wrongly typed
// parameter) is matched by any fault of ours, as README's differences say.
func compareExact(t *testing.T, ref, ours []entry, allow500 bool) {
	t.Helper()
	if len(ref) != len(ours) {
		t.Fatalf("transcripts differ in length: ref %d steps, ours %d", len(ref), len(ours))
	}
	for i := range ref {
		r, o := ref[i], ours[i]
		if r.label != o.label {
			t.Fatalf("step %d: labels differ: ref %q, ours %q", i, r.label, o.label)
		}
		if strings.HasSuffix(r.label, "(ours only)") {
			continue
		}
		var rr, or struct {
			HTTP  int `json:"http"`
			Fault int `json:"fault"`
		}
		_ = json.Unmarshal(r.result, &rr)
		_ = json.Unmarshal(o.result, &or)
		if allow500 && rr.HTTP == 500 {
			if or.Fault == 0 {
				t.Errorf("step %d %q: ref HTTP 500, ours %s (want a fault)", i, r.label, o.result)
			}
			continue
		}
		if cr, co := canonical(t, r.result), canonical(t, o.result); cr != co {
			t.Errorf("step %d %q:\nref:  %s\nours: %s", i, r.label, cr, co)
		}
	}
}

// orderPrograms are ordered by priority unlike their names and config
// order; web is a heterogeneous group whose members' priorities reverse
// its programs= order. All start at once (startsecs=0), so each result
// is immediate and the order is the reference's, not timing.
var orderPrograms = program("cat", "serve", "startsecs=0") +
	program("early", "serve", "startsecs=0\nautostart=false\npriority=1") +
	"[program:missing]\ncommand={{here}}/nosuchcmd\nautostart=false\npriority=500\n\n" +
	program("late", "serve", "startsecs=0\nautostart=false\npriority=900") +
	program("zeta", "serve", "startsecs=0\nautostart=false") +
	program("alpha", "serve", "startsecs=0\nautostart=false") +
	program("w2", "serve", "startsecs=0\nautostart=false\npriority=20") +
	program("w1", "serve", "startsecs=0\nautostart=false\npriority=10") +
	"[group:web]\nprograms=w2,w1\npriority=700\n\n"

// TestMultiProcessResultOrder (issue 12, item 2): the results of
// startAllProcesses, signalAllProcesses, clearAllProcessLogs, the group
// calls and stopAllProcesses come in the reference's order: by priority,
// a fault entry (NO_FILE) in its place among the successes, a group
// added at run time after the groups of its priority.
func TestMultiProcessResultOrder(t *testing.T) {
	t.Parallel()
	results := runBoth(t, func(t *testing.T, impl implementation) []entry {
		return runCompat(t, impl, orderPrograms, "order")
	})
	if t.Failed() {
		return
	}
	compareExact(t, results[0], results[1], false)
	// The reference's order, written out: a regression on both sides
	// must not pass either.
	for _, e := range results[0] {
		if e.label != "startAllProcesses" {
			continue
		}
		var rs [][3]any
		if err := json.Unmarshal(e.result, &rs); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range rs {
			names = append(names, r[0].(string))
		}
		want := []string{"early:early", "missing:missing", "web:w1", "web:w2", "late:late", "zeta:zeta", "alpha:alpha"}
		if canonical(t, mustJSON(t, names)) != canonical(t, mustJSON(t, want)) {
			t.Errorf("reference's startAllProcesses order %q, want %q", names, want)
		}
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// faultPrograms is the config of the fault matrix: "off" has logs with
// known contents and a command that does not exist, so that no call of
// the matrix changes any state.
var faultPrograms = "[program:off]\ncommand={{here}}/nosuchcmd\nautostart=false\n" +
	"stdout_logfile={{here}}/off.out\nstderr_logfile={{here}}/off.err\n\n" +
	"[program:nolog]\ncommand={{here}}/nosuchcmd\nautostart=false\nstdout_logfile=NONE\nstderr_logfile=NONE\n\n"

// TestFaultStrings (issue 12, item 3) calls every method with a value of
// each XML-RPC type in each parameter, and with a parameter too many and
// too few, on both daemons. Where the reference answers (a value or a
// fault), ours must answer the same, fault text included; where it fails
// with HTTP 500 (a Python exception), ours must answer a fault.
func TestFaultStrings(t *testing.T) {
	t.Parallel()
	results := runBoth(t, func(t *testing.T, impl implementation) []entry {
		return runFaultMatrix(t, impl)
	})
	if t.Failed() {
		return
	}
	compareExact(t, results[0], results[1], true)
	// The matrix means something only if the reference answered most of
	// it with faults and values rather than HTTP 500.
	answered := 0
	for _, e := range results[0] {
		var r struct {
			HTTP int `json:"http"`
		}
		if json.Unmarshal(e.result, &r) != nil || r.HTTP == 0 {
			answered++
		}
	}
	if len(results[0]) < 400 || answered < len(results[0])*2/3 {
		t.Errorf("the reference answered %d of %d steps without HTTP 500; the matrix is too thin", answered, len(results[0]))
	}
}

// runFaultMatrix runs the fault matrix on impl, with off's logs
// written beforehand.
func runFaultMatrix(t *testing.T, impl implementation) []entry {
	t.Helper()
	s := newSide(t, impl, faultPrograms)
	for name, text := range map[string]string{"off.out": "stdout of off\n", "off.err": "stderr of off\n"} {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return runCompatOn(t, s, "faults")
}

// runCompatOn starts a prepared side and runs a scenario of
// testdata/compat.py against it over the unix socket.
func runCompatOn(t *testing.T, s *side, scenario string) []entry {
	t.Helper()
	s.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Python3, filepath.Join(testenv.RepoRoot(), "blackbox", "testdata", "compat.py"),
		"unix://"+s.sock, rpcUser, unixPassword, s.dir, scenario)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %s: %v\n%s\nmain log:\n%s", s.impl.name, scenario, err, stderr.String(), readFile(s.dir, "main.log"))
	}
	return parseTranscript(t, s.impl.name, stdout.Bytes())
}

// signalPrograms are helpers that ignore SIGHUP, SIGUSR1 and SIGUSR2.
var signalPrograms = program("cat", "serve", "startsecs=0\nautorestart=false") +
	program("a", "serve", "startsecs=0") +
	program("b", "serve", "startsecs=0") +
	"[group:grp]\nprograms=a,b\n\n"

// TestSignalAsNumber (issue 12, item 4): signalProcess,
// signalProcessGroup and signalAllProcesses take a signal sent as an
// <int> (and any value Python's int() takes), as the reference does.
func TestSignalAsNumber(t *testing.T) {
	t.Parallel()
	results := runBoth(t, func(t *testing.T, impl implementation) []entry {
		return runCompat(t, impl, signalPrograms, "signals")
	})
	if t.Failed() {
		return
	}
	compareExact(t, results[0], results[1], false)
	for _, e := range results[1] {
		if e.label == "signalProcess int" && canonical(t, e.result) != "true" {
			t.Errorf("ours: signalProcess('cat', <int>10) = %s, want true", e.result)
		}
	}
}

// addGroupPrograms is the config the addgroup scenario starts on; it adds
// addGroupExtra (reloadConfig, addProcessGroup) and then "more"
// (supervisorctl update). Their programs stay STARTING for 10 s. Each
// group has many processes, so that a daemon which spawns them only after
// its reply is seen doing so (the spawns take a while).
var (
	addGroupPrograms = program("cat", "serve", "startsecs=0")
	addGroupExtra    = program("extra", "serve", "startsecs=10\nnumprocs=20\nprocess_name=%(program_name)s_%(process_num)02d")
	addGroupMore     = program("more", "serve", "startsecs=10\nnumprocs=30\nprocess_name=%(program_name)s_%(process_num)02d")
)

// TestAddProcessGroupSpawnsBeforeReply (issue 12, item 5): a
// getProcessInfo right after addProcessGroup, or after supervisorctl
// update, finds the group's autostart programs STARTING with a pid, as
// the reference (which spawns them before its reply goes out).
func TestAddProcessGroupSpawnsBeforeReply(t *testing.T) {
	t.Parallel()
	results := runBoth(t, func(t *testing.T, impl implementation) []entry {
		s := newSide(t, impl, addGroupPrograms)
		s.writeFile(t, "conf.extra", baseConfig+addGroupPrograms+addGroupExtra)
		s.writeFile(t, "conf.more", baseConfig+addGroupPrograms+addGroupExtra+addGroupMore)
		return runCompatOn(t, s, "addgroup")
	})
	if t.Failed() {
		return
	}
	compareExact(t, results[0], results[1], false)
	for _, e := range results[1] {
		if strings.Contains(e.label, " at once") && canonical(t, e.result) != `["STARTING",true]` {
			t.Errorf("ours: %s = %s, want STARTING with a pid", e.label, e.result)
		}
	}
}

// serverURLPrograms print the SUPERVISOR_SERVER_URL they were given.
var serverURLPrograms = program("nokey", "env", "startsecs=0") +
	program("auto", "env", "startsecs=0\nserverurl=AUTO") +
	program("empty", "env", "startsecs=0\nserverurl=") +
	program("explicit", "env", "startsecs=0\nserverurl=http://example.invalid:1")

// TestProgramServerURL (issue 12, item 6): serverurl= (empty) gives the
// child no SUPERVISOR_SERVER_URL; AUTO or no key gives the daemon's URL,
// any other value that value; getAllConfigInfo reports each as the
// reference does.
func TestProgramServerURL(t *testing.T) {
	t.Parallel()
	results := runBoth(t, func(t *testing.T, impl implementation) []entry {
		return runCompat(t, impl, serverURLPrograms, "serverurl")
	})
	if t.Failed() {
		return
	}
	compareExact(t, results[0], results[1], false)
	for _, e := range results[1] {
		if e.label == "environment of empty" && canonical(t, e.result) != `"SUPERVISOR_SERVER_URL unset\n"` {
			t.Errorf("ours: serverurl= gave the child %s", e.result)
		}
	}
}
