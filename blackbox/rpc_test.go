package blackbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/internal/testenv"
)

// rpcPrograms is the config of the XML-RPC transcript: one program per
// situation the script needs.
var rpcPrograms = program("cat", "serve", "startsecs=0") +
	// startsecs=10: the reference notices an exit only on its next loop
	// turn, and when that comes after startsecs (a loaded machine) it
	// calls the program RUNNING first and its start a success.
	program("failer", "exit1", "startretries=0\nautostart=false\nstartsecs=10") +
	program("slow", "serve", "startsecs=3\nautostart=false") +
	program("nolog", "serve", "startsecs=0\nautostart=false\nstdout_logfile=NONE\nstderr_logfile=NONE") +
	"[program:nofile]\ncommand={{here}}/nosuchcmd\nautostart=false\n\n" +
	"[program:noexec]\ncommand={{here}}/notexec\nautostart=false\n\n" +
	program("dirlog", "serve", "autostart=false\nstdout_logfile={{here}}/dirlog.log") +
	program("multi", "serve", "autostart=false\nstartsecs=0\nnumprocs=2\nprocess_name=%(program_name)s_%(process_num)02d") +
	program("a", "serve", "startsecs=0") +
	program("b", "serve", "startsecs=0") +
	"[group:grp]\nprograms=a,b\n\n"

// rpcProgramsNew is the config the script rereads: nolog gone, grp
// changed (b), stub added (it ignores SIGTERM, so a restart takes
// stopwaitsecs).
var rpcProgramsNew = strings.Replace(rpcPrograms, program("nolog", "serve", "startsecs=0\nautostart=false\nstdout_logfile=NONE\nstderr_logfile=NONE"), "", 1) +
	"[program:b]\nstartretries=5\n\n" +
	program("stub", "stubborn", "startsecs=0")

// rpcProgramsBroken does not parse (numprocs without process_num).
var rpcProgramsBroken = rpcPrograms + "[program:bad]\ncommand=x\nnumprocs=2\n"

// transport is how the script reaches the daemon.
type transport struct {
	name string
	url  func(s *side) string
	pw   string
}

var transports = []transport{
	{"unix", func(s *side) string { return "unix://" + s.sock }, unixPassword},
	{"inet", func(s *side) string { return fmt.Sprintf("http://127.0.0.1:%d", s.port) }, inetPassword},
}

// entry is one step of a transcript: [label, result].
type entry struct {
	label  string
	result json.RawMessage
}

// runTranscript starts impl on the transcript config, runs the script
// over tr and returns its transcript once the daemon has shut down.
func runTranscript(t *testing.T, impl implementation, tr transport) []entry {
	t.Helper()
	s := newSide(t, impl, rpcPrograms)
	s.writeFile(t, "conf.new", baseConfig+rpcProgramsNew)
	s.writeFile(t, "conf.broken", baseConfig+rpcProgramsBroken)
	if err := os.WriteFile(filepath.Join(s.dir, "notexec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Python3, filepath.Join(testenv.RepoRoot(), "blackbox", "testdata", "transcript.py"),
		tr.url(s), rpcUser, tr.pw, s.dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s over %s: script: %v\n%s\nmain log:\n%s", impl.name, tr.name, err, stderr.String(), readFile(s.dir, "main.log"))
	}
	select {
	case <-s.daemon.Exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: daemon still running 30 s after shutdown", impl.name)
	}
	if s.daemon.ExitErr != nil {
		t.Errorf("%s: daemon exit: %v\nstderr:\n%s", impl.name, s.daemon.ExitErr, s.daemon.Stderr.String())
	}
	return parseTranscript(t, impl.name, stdout.Bytes())
}

// parseTranscript reads a script's JSON transcript [[label, result], ...].
func parseTranscript(t *testing.T, name string, data []byte) []entry {
	t.Helper()
	var raw [][2]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("%s: transcript: %v\n%s", name, err, data)
	}
	out := make([]entry, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r[0], &out[i].label); err != nil {
			t.Fatal(err)
		}
		out[i].result = r[1]
	}
	return out
}

func readFile(dir, name string) string {
	b, _ := os.ReadFile(filepath.Join(dir, name))
	return string(b)
}

// rewriteRule maps an entry of either transcript to the form compared,
// for a difference between the daemons that is intended.
type rewriteRule struct {
	why string
	// apply rewrites the result of one step of side ("ref" or "ours").
	apply func(side string, e entry) json.RawMessage
}

// wrongTypeSteps are the transcript steps that pass a parameter of the
// wrong type where the reference fails with HTTP 500 (a Python
// exception); TestFaultStrings covers every method and type.
var wrongTypeSteps = map[string]bool{
	"multicall not a list": true, "wrong type name": true, "wrong type offset": true,
}

var rewriteRules = []rewriteRule{
	{
		why: "wrongly typed parameters the reference answers with HTTP 500 and a traceback in its log (pitfalls.md): " +
			"ours answers the fault closest to the reference's own (BAD_NAME for a name, bare INCORRECT_PARAMETERS otherwise)",
		apply: func(side string, e entry) json.RawMessage {
			if !wrongTypeSteps[e.label] {
				return e.result
			}
			var r struct {
				Fault int `json:"fault"`
				HTTP  int `json:"http"`
			}
			if json.Unmarshal(e.result, &r) != nil {
				return e.result
			}
			if (side == "ref" && r.HTTP == 500) || (side == "ours" && (r.Fault == 2 || r.Fault == 10)) {
				return json.RawMessage(`"refused"`)
			}
			return e.result
		},
	},
	{
		why: "methodHelp answers each daemon's own docstring prose (we never copy the reference's); both must be non-empty strings",
		apply: func(side string, e entry) json.RawMessage {
			var s string
			if strings.HasPrefix(e.label, "methodHelp supervisor.") || strings.HasPrefix(e.label, "methodHelp system.") {
				if json.Unmarshal(e.result, &s) == nil && s != "" {
					return json.RawMessage(`"<docstring>"`)
				}
			}
			return e.result
		},
	},
}

// canonical re-encodes a JSON value so that equal values compare equal.
func canonical(t *testing.T, raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("bad JSON %s: %v", raw, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// compareTranscripts fails for each step whose results differ.
func compareTranscripts(t *testing.T, ref, ours []entry) {
	t.Helper()
	for i := 0; i < max(len(ref), len(ours)); i++ {
		if i >= len(ref) || i >= len(ours) {
			t.Errorf("transcripts differ in length: ref %d steps, ours %d", len(ref), len(ours))
			return
		}
		r, o := ref[i], ours[i]
		if r.label != o.label {
			t.Fatalf("step %d: labels differ: ref %q, ours %q", i, r.label, o.label)
		}
		for _, rule := range rewriteRules {
			r.result, o.result = rule.apply("ref", r), rule.apply("ours", o)
		}
		if cr, co := canonical(t, r.result), canonical(t, o.result); cr != co {
			t.Errorf("step %d %q:\nref:  %s\nours: %s", i, r.label, cr, co)
		}
	}
}

// TestXMLRPCTranscript runs the transcript script with Python's
// xmlrpc.client against both daemons, over the unix socket (plain
// password) and over TCP ({SHA} password), and compares.
func TestXMLRPCTranscript(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			results := runBoth(t, func(t *testing.T, impl implementation) []entry { return runTranscript(t, impl, tr) })
			if t.Failed() {
				return
			}
			compareTranscripts(t, results[0], results[1])
			checkCoverage(t, results[0])
		})
	}
}

// reachableFaults are the fault codes of checklist §3.2 a client can
// provoke; the transcript must meet each of them.
var reachableFaults = []protocol.FaultCode{
	protocol.FaultUnknownMethod, protocol.FaultIncorrectParameters, protocol.FaultBadArguments,
	protocol.FaultSignatureUnsupported, protocol.FaultShutdownState, protocol.FaultBadName,
	protocol.FaultBadSignal, protocol.FaultNoFile, protocol.FaultNotExecutable, protocol.FaultFailed,
	protocol.FaultAbnormalTermination, protocol.FaultSpawnError, protocol.FaultAlreadyStarted,
	protocol.FaultNotRunning, protocol.FaultAlreadyAdded, protocol.FaultStillRunning, protocol.FaultCantReread,
}

// checkCoverage fails unless the reference's transcript called all 41
// methods it lists and met every reachable fault, so that equal
// transcripts mean something.
func checkCoverage(t *testing.T, ref []entry) {
	t.Helper()
	seen := map[protocol.FaultCode]bool{}
	for _, e := range ref {
		var f struct {
			Fault protocol.FaultCode `json:"fault"`
		}
		if json.Unmarshal(e.result, &f) == nil && f.Fault != 0 {
			seen[f.Fault] = true
		}
		// multicall answers faults inline.
		var inline []struct {
			Code protocol.FaultCode `json:"faultCode"`
		}
		if json.Unmarshal(e.result, &inline) == nil {
			for _, f := range inline {
				seen[f.Code] = seen[f.Code] || f.Code != 0
			}
		}
		switch e.label {
		case "listMethods":
			var names []string
			if err := json.Unmarshal(e.result, &names); err != nil || len(names) != 41 {
				t.Errorf("listMethods: %d names (%v), want 41", len(names), err)
			}
		case "methods never called":
			if string(e.result) != "[]" {
				t.Errorf("methods never called: %s", e.result)
			}
		}
	}
	for _, code := range reachableFaults {
		if !seen[code] {
			t.Errorf("no step met fault %d", code)
		}
	}
}

// runBoth runs f for every implementation in parallel subtests and
// returns their results once all have finished.
func runBoth[T any](t *testing.T, f func(t *testing.T, impl implementation) T) []T {
	t.Helper()
	results := make([]T, len(implementations))
	t.Run("daemons", func(t *testing.T) {
		for i, impl := range implementations {
			t.Run(impl.name, func(t *testing.T) {
				t.Parallel()
				results[i] = f(t, impl)
			})
		}
	})
	return results
}
