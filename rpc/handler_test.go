package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/internal/testenv"
)

// newTestServer serves b with opts; a nil opts.Now reads fakeNow.
func newTestServer(t *testing.T, b Backend, opts HandlerOptions) *httptest.Server {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fakeNow
	}
	srv := httptest.NewUnstartedServer(NewHandler(b, opts))
	srv.Config.ConnContext = ConnContext
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// TestMethods calls every method through HTTP, in order (later rows see
// the effects of earlier ones), and checks values and fault codes.
func TestMethods(t *testing.T) {
	t.Parallel()
	b := newFakeBackend(t)
	srv := newTestServer(t, b, HandlerOptions{})
	client := &rpcClient{t: t, url: srv.URL}
	infoCat := `map[description:pid 4242, uptime 0:00:05 exitstatus:0 group:cat logfile:` + b.procs[0].info.LogFiles[protocol.Stdout] +
		` name:cat now:1764469005 pid:4242 spawnerr: start:1764469000 state:20 statename:RUNNING stderr_logfile:` +
		b.procs[0].info.LogFiles[protocol.Stderr] + ` stdout_logfile:` + b.procs[0].info.LogFiles[protocol.Stdout] + ` stop:0]`
	ok := func(name, group string) string {
		return "map[description:OK group:" + group + " name:" + name + " status:80]"
	}
	cases := []struct {
		method    string
		params    []any
		want      string // show() of the value, when wantFault is 0
		wantFault protocol.FaultCode
	}{
		{"supervisor.getAPIVersion", nil, `"3.0"`, 0},
		{"supervisor.getVersion", nil, `"3.0"`, 0},
		{"supervisor.getSupervisorVersion", nil, `"4.2.5"`, 0},
		{"supervisor.getIdentification", nil, `"supervisor"`, 0},
		{"supervisor.getState", nil, "map[statecode:1 statename:RUNNING]", 0},
		{"supervisor.getPID", nil, "777", 0},
		{"supervisor.getPID", []any{1}, "", protocol.FaultIncorrectParameters},
		{"supervisor.getProcessInfo", []any{"cat"}, infoCat, 0},
		{"supervisor.getProcessInfo", []any{"cat:cat"}, infoCat, 0},
		{"supervisor.getProcessInfo", []any{"grp:*"}, "", protocol.FaultBadName},
		{"supervisor.getProcessInfo", []any{"nosuch"}, "", protocol.FaultBadName},
		{"supervisor.getProcessInfo", []any{7}, "", protocol.FaultBadName},
		{"supervisor.getProcessInfo", nil, "", protocol.FaultIncorrectParameters},
		{"supervisor.readLog", []any{0, 0}, `"2026-11-30 04:00:00,000 INFO supervisord started\n"`, 0},
		{"supervisor.readLog", []any{-8, 0}, `"started\n"`, 0},
		{"supervisor.readLog", []any{5, 2}, `"11"`, 0},
		{"supervisor.readMainLog", []any{"-3", 0}, `"ed\n"`, 0},
		{"supervisor.readLog", []any{-1, 1}, "", protocol.FaultBadArguments},
		{"supervisor.readLog", []any{0, -1}, "", protocol.FaultBadArguments},
		{"supervisor.readLog", []any{"x", 0}, "", protocol.FaultIncorrectParameters},
		{"supervisor.readProcessStdoutLog", []any{"cat", 0, 0}, `"stdout of cat\n"`, 0},
		{"supervisor.readProcessLog", []any{"grp:a", -2, 0}, `"a\n"`, 0},
		{"supervisor.readProcessStderrLog", []any{"cat", 0, 6}, `"stderr"`, 0},
		{"supervisor.readProcessStderrLog", []any{"grp:a", 0, 0}, "", protocol.FaultNoFile},
		{"supervisor.readProcessStdoutLog", []any{"nofile", 0, 0}, "", protocol.FaultNoFile},
		{"supervisor.readProcessStdoutLog", []any{"grp:*", 0, 0}, "", protocol.FaultBadName},
		{"supervisor.readProcessStdoutLog", []any{"cat", -1, 5}, "", protocol.FaultBadArguments},
		{"supervisor.tailProcessStdoutLog", []any{"cat", 0, 5}, `[" cat\n" 14 true]`, 0},
		{"supervisor.tailProcessLog", []any{"cat", 0, 100}, `["stdout of cat\n" 14 false]`, 0},
		{"supervisor.tailProcessStderrLog", []any{"grp:a", 0, 100}, `["" 0 false]`, 0},
		{"supervisor.tailProcessStderrLog", []any{"nosuch", 0, 100}, "", protocol.FaultBadName},
		{"supervisor.startProcess", []any{"cat"}, "", protocol.FaultAlreadyStarted},
		{"supervisor.startProcess", []any{"grp:a", false}, "true", 0},
		{"supervisor.startProcess", []any{"failer", true}, "", protocol.FaultSpawnError},
		{"supervisor.startProcess", []any{"nofile"}, "", protocol.FaultNoFile},
		{"supervisor.startProcess", []any{"nosuch"}, "", protocol.FaultBadName},
		{"supervisor.startProcess", []any{"nosuch:*"}, "", protocol.FaultBadName},
		{"supervisor.startProcess", []any{"grp", 1}, "", protocol.FaultBadName},
		{"supervisor.startProcess", []any{"cat", "yes"}, "", protocol.FaultAlreadyStarted},
		{"supervisor.startProcess", []any{"cat", true, 1}, "", protocol.FaultIncorrectParameters},
		{"supervisor.stopProcess", []any{"grp:*"}, "[" + ok("a", "grp") + " " + ok("b", "grp") + "]", 0},
		{"supervisor.startProcess", []any{"grp:"}, "[" + ok("a", "grp") + " " + ok("b", "grp") + "]", 0},
		{"supervisor.stopProcess", []any{"grp:a"}, "true", 0},
		{"supervisor.stopProcess", []any{"grp:a"}, "", protocol.FaultNotRunning},
		{"supervisor.stopProcessGroup", []any{"grp"}, "[" + ok("b", "grp") + "]", 0},
		{"supervisor.stopProcessGroup", []any{"nosuch", true}, "", protocol.FaultBadName},
		{"supervisor.startProcessGroup", []any{"grp", false}, "[" + ok("a", "grp") + " " + ok("b", "grp") + "]", 0},
		{"supervisor.signalProcess", []any{"cat", "HUP"}, "true", 0},
		{"supervisor.signalProcess", []any{"cat", "BOGUS"}, "", protocol.FaultBadSignal},
		{"supervisor.signalProcess", []any{"nofile", "1"}, "", protocol.FaultNotRunning},
		{"supervisor.signalProcess", []any{"grp:*", "USR1"}, "[" + ok("a", "grp") + " " + ok("b", "grp") + "]", 0},
		{"supervisor.signalProcessGroup", []any{"cat", "TERM"}, "[" + ok("cat", "cat") + "]", 0},
		{"supervisor.signalAllProcesses", []any{"9"}, "[" + ok("cat", "cat") + " " + ok("a", "grp") + " " + ok("b", "grp") + "]", 0},
		{"supervisor.stopAllProcesses", nil, "[" + ok("cat", "cat") + " " + ok("a", "grp") + " " + ok("b", "grp") + "]", 0},
		{"supervisor.stopAllProcesses", []any{false}, "[]", 0},
		{"supervisor.startAllProcesses", []any{true}, "[" + ok("cat", "cat") +
			" map[description:SPAWN_ERROR: failer:failer group:failer name:failer status:50] " + ok("a", "grp") + " " + ok("b", "grp") +
			" map[description:NO_FILE: no such file: /bin/nofile group:nofile name:nofile status:20]]", 0},
		{"supervisor.sendProcessStdin", []any{"cat", "hello\n"}, "true", 0},
		{"supervisor.sendProcessStdin", []any{"cat", []byte("bytes")}, "true", 0},
		{"supervisor.sendProcessStdin", []any{"nofile", "x"}, "", protocol.FaultNotRunning},
		{"supervisor.sendProcessStdin", []any{"cat", 5}, "", protocol.FaultIncorrectParameters},
		{"supervisor.sendProcessStdin", []any{"grp:*", "x"}, "", protocol.FaultBadName},
		{"supervisor.sendRemoteCommEvent", []any{"type", "data"}, "true", 0},
		{"supervisor.clearProcessLogs", []any{"cat"}, "true", 0},
		{"supervisor.clearProcessLog", []any{"grp:*"}, "", protocol.FaultBadName},
		{"supervisor.readProcessStdoutLog", []any{"cat", 0, 0}, `""`, 0},
		{"supervisor.clearAllProcessLogs", nil, "[" + ok("cat", "cat") + " " + ok("failer", "failer") + " " + ok("a", "grp") + " " +
			ok("b", "grp") + " " + ok("nofile", "nofile") + "]", 0},
		{"supervisor.clearLog", nil, "true", 0},
		{"supervisor.readLog", []any{0, 0}, `""`, 0},
		{"supervisor.reloadConfig", nil, `[[["newgrp"] ["grp"] []]]`, 0},
		{"supervisor.addProcessGroup", []any{"newgrp"}, "true", 0},
		{"supervisor.addProcessGroup", []any{"grp"}, "", protocol.FaultAlreadyAdded},
		{"supervisor.addProcessGroup", []any{"nosuch"}, "", protocol.FaultBadName},
		{"supervisor.removeProcessGroup", []any{"grp"}, "", protocol.FaultStillRunning},
		{"supervisor.removeProcessGroup", []any{"nosuch"}, "", protocol.FaultBadName},
		{"supervisor.removeProcessGroup", []any{"failer"}, "true", 0},
		{"supervisor.noSuchMethod", nil, "", protocol.FaultUnknownMethod},
		{"supervisor._update", nil, "", protocol.FaultUnknownMethod},
		{"supervisor.getState.x", nil, "", protocol.FaultUnknownMethod},
		{"getState", nil, "", protocol.FaultUnknownMethod},
		{"nosuch.getState", nil, "", protocol.FaultUnknownMethod},
		{"", nil, "", protocol.FaultUnknownMethod},
		{"system.methodHelp", []any{"supervisor.nosuch"}, "", protocol.FaultSignatureUnsupported},
		{"system.methodSignature", []any{"nosuch"}, "", protocol.FaultSignatureUnsupported},
		{"system.methodSignature", []any{"supervisor.tailProcessStdoutLog"}, `["array" "string" "int" "int"]`, 0},
		{"system.methodSignature", []any{"supervisor.startProcess"}, `["boolean" "string" "boolean"]`, 0},
		{"system.methodSignature", []any{"supervisor.getState"}, `["struct"]`, 0},
		{"system.multicall", []any{"x"}, "", protocol.FaultIncorrectParameters},
		{"system.multicall", []any{[]any{
			map[string]any{"methodName": "supervisor.getPID"},
			map[string]any{"methodName": "supervisor.nosuch", "params": []any{}},
			map[string]any{"methodName": "supervisor.getProcessInfo", "params": []any{"grp:a"}},
			map[string]any{"params": []any{}},
			map[string]any{"methodName": "system.multicall", "params": []any{[]any{}}},
			map[string]any{"methodName": "supervisor.stopProcess", "params": []any{"grp:a", true}},
			map[string]any{"methodName": "supervisor.startProcess", "params": []any{"grp:a", true}},
		}}, "", 0},
		{"system.multicall", []any{[]any{map[string]any{"methodName": "supervisor.getPID"}, "not a struct"}}, "", protocol.FaultIncorrectParameters},
		{"supervisor.shutdown", nil, "true", 0},
		{"supervisor.getState", nil, "", protocol.FaultShutdownState},
		{"supervisor.getVersion", nil, "", protocol.FaultShutdownState},
		{"supervisor.startProcess", []any{"cat"}, "", protocol.FaultShutdownState},
		{"supervisor.getPID", []any{1, 2}, "", protocol.FaultIncorrectParameters},
		{"supervisor.sendRemoteCommEvent", []any{"t", "during shutdown"}, "true", 0},
		{"system.listMethods", nil, "", 0},
	}
	for _, c := range cases {
		got, err := client.call(c.method, c.params...)
		if code := faultCode(err); code != c.wantFault {
			t.Errorf("%s%v: fault %v, want code %d", c.method, c.params, err, c.wantFault)
			continue
		}
		if c.wantFault != 0 || c.want == "" {
			continue
		}
		if s := show(got); s != c.want {
			t.Errorf("%s%v:\n got %s\nwant %s", c.method, c.params, s, c.want)
		}
	}
	if got := string(b.stdin["cat"]); got != "hello\nbytes" {
		t.Errorf("stdin of cat: %q", got)
	}
	if len(b.events) != 2 || b.events[1] != [2]string{"t", "during shutdown"} {
		t.Errorf("events %v", b.events)
	}
}

func TestMulticallResults(t *testing.T) {
	t.Parallel()
	b := newFakeBackend(t)
	c := &rpcClient{t: t, url: newTestServer(t, b, HandlerOptions{}).URL}
	got, err := c.call("system.multicall", []any{
		map[string]any{"methodName": "supervisor.getPID"},
		map[string]any{"methodName": "supervisor.nosuch", "params": []any{}},
		map[string]any{"params": []any{}},
		map[string]any{"methodName": "system.multicall", "params": []any{[]any{}}},
		map[string]any{"methodName": "supervisor.stopProcess", "params": []any{"cat", true}},
		map[string]any{"methodName": "supervisor.startProcess", "params": []any{"cat", true}},
		map[string]any{"methodName": "supervisor.getProcessInfo", "params": 7},
		map[string]any{"methodName": "supervisor.getProcessInfo", "params": "c"},
		map[string]any{"methodName": 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "[777 map[faultCode:1 faultString:UNKNOWN_METHOD]" +
		" map[faultCode:2 faultString:INCORRECT_PARAMETERS: No methodName]" +
		" map[faultCode:2 faultString:INCORRECT_PARAMETERS: Recursive system.multicall forbidden]" +
		" true true" +
		" map[faultCode:2 faultString:INCORRECT_PARAMETERS]" +
		" map[faultCode:10 faultString:BAD_NAME: c]" +
		" map[faultCode:30 faultString:FAILED: <class 'AttributeError'>:'int' object has no attribute 'split']]"
	if s := show(got); s != want {
		t.Errorf("multicall\n got %s\nwant %s", s, want)
	}
}

// TestIntrospection checks the method list and every signature against
// the reference's (checklist §3.5), and that help texts carry the tags.
func TestIntrospection(t *testing.T) {
	t.Parallel()
	c := &rpcClient{t: t, url: newTestServer(t, newFakeBackend(t), HandlerOptions{}).URL}
	sigs := map[string][]string{
		"addProcessGroup": {"boolean", "string"}, "clearAllProcessLogs": {"array"}, "clearLog": {"boolean"},
		"clearProcessLog": {"boolean", "string"}, "clearProcessLogs": {"boolean", "string"},
		"getAPIVersion": {"string"}, "getVersion": {"string"}, "getSupervisorVersion": {"string"},
		"getIdentification": {"string"}, "getAllConfigInfo": {"array"}, "getAllProcessInfo": {"array"},
		"reloadConfig": {"array"}, "getPID": {"int"}, "getProcessInfo": {"struct", "string"}, "getState": {"struct"},
		"readLog": {"string", "int", "int"}, "readMainLog": {"string", "int", "int"},
		"readProcessLog": {"string", "string", "int", "int"}, "readProcessStdoutLog": {"string", "string", "int", "int"},
		"readProcessStderrLog": {"string", "string", "int", "int"}, "removeProcessGroup": {"boolean", "string"},
		"restart": {"boolean"}, "shutdown": {"boolean"}, "sendProcessStdin": {"boolean", "string", "string"},
		"sendRemoteCommEvent": {"boolean", "string", "string"}, "signalProcess": {"boolean", "string", "string"},
		"signalAllProcesses": {"array", "string"}, "signalProcessGroup": {"array", "string", "string"},
		"startAllProcesses": {"array", "boolean"}, "stopAllProcesses": {"array", "boolean"},
		"startProcess": {"boolean", "string", "boolean"}, "stopProcess": {"boolean", "string", "boolean"},
		"startProcessGroup": {"array", "string", "boolean"}, "stopProcessGroup": {"array", "string", "boolean"},
		"tailProcessLog": {"array", "string", "int", "int"}, "tailProcessStdoutLog": {"array", "string", "int", "int"},
		"tailProcessStderrLog": {"array", "string", "int", "int"},
	}
	want := map[string][]string{
		"system.listMethods": {"array"}, "system.methodHelp": {"string", "string"},
		"system.methodSignature": {"array", "string"}, "system.multicall": {"array", "array"},
	}
	for name, sig := range sigs {
		want["supervisor."+name] = sig
	}
	// gosupervisor's own namespace: listed, never in supervisor.*.
	want["gosupervisor.getProcessHealth"] = []string{"struct", "string"}
	want["gosupervisor.getAllProcessHealth"] = []string{"array"}
	want["gosupervisor.upgrade"] = []string{"struct", "string"}
	want["gosupervisor.getUpgradeInfo"] = []string{"struct"}
	want["gosupervisor.getProcessResources"] = []string{"struct", "string"}
	want["gosupervisor.getAllProcessResources"] = []string{"array"}
	want["gosupervisor.getProcessExits"] = []string{"array", "string"}
	got, err := c.call("system.listMethods")
	if err != nil {
		t.Fatal(err)
	}
	names := got.([]any)
	if len(names) != 48 || len(want) != 48 {
		t.Fatalf("listMethods has %d names (want table %d): %v", len(names), len(want), names)
	}
	for i, n := range names {
		name := n.(string)
		if i > 0 && names[i-1].(string) >= name {
			t.Errorf("listMethods not sorted at %q", name)
		}
		sig, err := c.call("system.methodSignature", name)
		if err != nil {
			t.Errorf("methodSignature(%s): %v", name, err)
			continue
		}
		if s, w := show(sig), show(toAnys(want[name])); s != w {
			t.Errorf("methodSignature(%s) = %s, want %s", name, s, w)
		}
		help, err := c.call("system.methodHelp", name)
		if err != nil || !strings.Contains(help.(string), "@return") {
			t.Errorf("methodHelp(%s) = %v, %v", name, help, err)
		}
	}
}

func toAnys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func TestAllInfoCalls(t *testing.T) {
	t.Parallel()
	b := newFakeBackend(t)
	c := &rpcClient{t: t, url: newTestServer(t, b, HandlerOptions{}).URL}
	got, err := c.call("supervisor.getAllProcessInfo")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got.([]any) {
		m := p.(map[string]any)
		names = append(names, m["group"].(string)+":"+m["name"].(string))
	}
	if want := []string{"cat:cat", "failer:failer", "grp:a", "grp:b", "nofile:nofile"}; !slices.Equal(names, want) {
		t.Errorf("getAllProcessInfo order %v, want %v", names, want)
	}
	got, err = c.call("supervisor.getAllConfigInfo")
	if err != nil {
		t.Fatal(err)
	}
	cfgs := got.([]any)
	if len(cfgs) != 6 {
		t.Fatalf("getAllConfigInfo: %d entries", len(cfgs))
	}
	first := cfgs[0].(map[string]any)
	if first["name"] != "a" || first["uid"] != "none" || first["directory"] != "none" || first["inuse"] != true ||
		show(first["exitcodes"]) != "[0]" || first["stdout_logfile_maxbytes"] != 50<<20 || first["stopsignal"] != 15 {
		t.Errorf("getAllConfigInfo[0] = %v", first)
	}
	if len(first) != 29 {
		t.Errorf("config info has %d fields, want 29", len(first))
	}
	last := cfgs[5].(map[string]any)
	if last["name"] != "nofile" {
		t.Errorf("getAllConfigInfo not sorted by name: last is %v", last["name"])
	}
}

func TestRestartFaultsLaterCalls(t *testing.T) {
	t.Parallel()
	b := newFakeBackend(t)
	c := &rpcClient{t: t, url: newTestServer(t, b, HandlerOptions{}).URL}
	if _, err := c.call("supervisor.restart"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.call("supervisor.getAllProcessInfo"); faultCode(err) != protocol.FaultShutdownState {
		t.Errorf("after restart: %v, want SHUTDOWN_STATE", err)
	}
	if _, err := c.call("system.listMethods"); err != nil {
		t.Errorf("system.* during restart: %v", err)
	}
}

// TestWaitHonoursClientContext: a start with wait ends when the client
// goes away.
func TestWaitHonoursClientContext(t *testing.T) {
	t.Parallel()
	b := newFakeBackend(t)
	b.blockStart = "grp:a"
	srv := newTestServer(t, b, HandlerOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/RPC2",
		strings.NewReader(string(encodeCall(t, "supervisor.startProcess", "grp:a", true))))
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// The client leaves once the call waits: a cancel before the request
	// reached the server would test nothing.
	select {
	case <-b.startBlocked:
		cancel()
	case <-time.After(60 * time.Second):
		t.Fatal("the call never reached the backend")
	}
	select {
	case err := <-b.startCancel:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("backend saw %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("StartProcess kept waiting after the client left")
	}
	<-done
}

// TestMulticallStopsWhenClientLeaves: calls after the one the client
// abandoned are not run.
func TestMulticallStopsWhenClientLeaves(t *testing.T) {
	t.Parallel()
	b := newFakeBackend(t)
	b.blockStart = "grp:a"
	srv := newTestServer(t, b, HandlerOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	body := encodeCall(t, "system.multicall", []any{
		map[string]any{"methodName": "supervisor.startProcess", "params": []any{"grp:a", true}},
		map[string]any{"methodName": "supervisor.sendRemoteCommEvent", "params": []any{"after", "leaving"}},
	})
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/RPC2", strings.NewReader(string(body)))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	// The client leaves once the call waits: a cancel before the request
	// reached the server would test nothing.
	select {
	case <-b.startBlocked:
		cancel()
	case <-time.After(60 * time.Second):
		t.Fatal("the call never reached the backend")
	}
	select {
	case <-b.startCancel:
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting call was not abandoned")
	}
	<-done
	srv.Close() // waits for the handler to finish
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.events) != 0 {
		t.Errorf("a call after the abandoned one ran: events %v", b.events)
	}
}

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeBackend(t), HandlerOptions{MaxBodyBytes: 1000})
	valid := string(encodeCall(t, "supervisor.getPID"))
	cases := []struct {
		name       string
		method     string
		path       string
		body       string
		chunked    bool
		wantStatus int
		wantBody   string
	}{
		{"get rpc", "GET", "/RPC2", "", false, 400, ""},
		{"rpc prefix", "POST", "/RPC2/anything", valid, false, 200, "<int>777</int>"},
		{"chunked body", "POST", "/RPC2", valid, true, 411, ""},
		{"empty body", "POST", "/RPC2", "", false, 400, ""},
		{"too large", "POST", "/RPC2", strings.Repeat(" ", 1001), false, 413, ""},
		{"malformed xml", "POST", "/RPC2", "<methodCall><oops>", false, 200, "<int>2</int>"},
		{"no method name", "POST", "/RPC2", "<methodCall><params/></methodCall>", false, 200, "<int>2</int>"},
		{"ok.html", "GET", "/ok.html", "", false, 200, "OK"},
		{"ok.html post", "POST", "/ok.html", "", false, 200, "OK"},
		{"no ui", "GET", "/", "", false, 404, ""},
		{"unknown path", "GET", "/nosuch", "", false, 404, ""},
		{"logtail post", "POST", "/logtail/cat", "x", false, 400, ""},
		{"mainlogtail post", "POST", "/mainlogtail", "x", false, 400, ""},
		{"logtail unknown", "GET", "/logtail/nosuch", "", false, 404, ""},
		{"logtail group", "GET", "/logtail/grp:*", "", false, 404, ""},
		{"logtail bad channel", "GET", "/logtail/cat/stdin", "", false, 404, ""},
		{"logtail no file", "GET", "/logtail/grp:a/stderr", "", false, 404, ""},
		{"logtail no path", "GET", "/logtail/nofile", "", false, 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(c.body)
			if c.chunked {
				body = io.MultiReader(strings.NewReader(c.body)) // unknown length: sent chunked
			}
			req, err := http.NewRequest(c.method, srv.URL+c.path, body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.wantStatus {
				t.Errorf("status %d, want %d (%s)", resp.StatusCode, c.wantStatus, got)
			}
			if !strings.Contains(string(got), c.wantBody) {
				t.Errorf("body %q does not contain %q", got, c.wantBody)
			}
		})
	}
}

func TestBasicAuth(t *testing.T) {
	t.Parallel()
	for _, pw := range []string{"thepassword", "{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d"} {
		srv := newTestServer(t, newFakeBackend(t), HandlerOptions{Username: "user", Password: pw})
		cases := []struct {
			name       string
			auth       string // raw Authorization header; "" = none
			path       string
			wantStatus int
		}{
			{"good", basic("user", "thepassword"), "/ok.html", 200},
			{"good rpc", basic("user", "thepassword"), "/RPC2", 400}, // GET on RPC2, but past auth
			{"no header", "", "/ok.html", 401},
			{"wrong password", basic("user", "nope"), "/ok.html", 401},
			{"wrong user", basic("other", "thepassword"), "/RPC2", 401},
			{"logtail", "", "/logtail/cat", 401},
			{"mainlogtail", "", "/mainlogtail", 401},
			{"not base64", "Basic !!!", "/ok.html", 401},
			{"no colon", "Basic dXNlcg==", "/ok.html", 401},
			{"other scheme", "Bearer x", "/ok.html", 401},
		}
		for _, c := range cases {
			req, _ := http.NewRequest("GET", srv.URL+c.path, nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.wantStatus {
				t.Errorf("%s (password %s): status %d, want %d", c.name, pw, resp.StatusCode, c.wantStatus)
			}
			if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") != `Basic realm="default"` {
				t.Errorf("%s: WWW-Authenticate %q", c.name, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
}

func basic(user, pass string) string {
	req, _ := http.NewRequest("GET", "http://x/", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

func TestUIMounted(t *testing.T) {
	t.Parallel()
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ui:"+r.URL.Path) })
	srv := newTestServer(t, newFakeBackend(t), HandlerOptions{UI: ui})
	for _, p := range []string{"/", "/index.html", "/tail.html", "/stylesheets/supervisor.css"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "ui:"+p {
			t.Errorf("GET %s: %q", p, body)
		}
	}
}

func TestLogLines(t *testing.T) {
	t.Parallel()
	var lines []string
	logf := func(level protocol.Level, msg string) { lines = append(lines, msg) }
	h := NewHandler(newFakeBackend(t), HandlerOptions{Log: logf, LogLevel: protocol.LevelTrace, Now: fakeNow})
	for _, body := range []string{string(encodeCall(t, "supervisor.getPID")), string(encodeCall(t, "supervisor.nosuch")),
		"<bad" + strings.Repeat("x", 5000)} {
		req := httptest.NewRequest("POST", "/RPC2", strings.NewReader(body))
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	want := []string{
		"XML-RPC method called: supervisor.getPID()",
		"XML-RPC method supervisor.getPID() returned successfully",
		"XML-RPC method called: supervisor.nosuch()",
		"XML-RPC method supervisor.nosuch() returned fault: [1] UNKNOWN_METHOD",
	}
	if len(lines) != 5 || !slices.Equal(lines[:4], want) {
		t.Fatalf("log lines %q", lines)
	}
	if !strings.HasPrefix(lines[4], `XML-RPC request data "<badxxx`) || len(lines[4]) > 400 {
		t.Errorf("invalid-request line not bounded: %q", lines[4])
	}
}

// TestLogtail follows a process log through growth, truncation and
// rotation, and the main log.
func TestLogtail(t *testing.T) {
	t.Parallel()
	b := newFakeBackend(t)
	path := b.procs[0].info.LogFiles[protocol.Stdout]
	big := strings.Repeat("0123456789", 200) // 2000 bytes
	writeFile(t, path, big)
	srv := newTestServer(t, b, HandlerOptions{Username: "u", Password: "p"})
	req, _ := http.NewRequest("GET", srv.URL+"/logtail/cat%3Acat", nil)
	req.SetBasicAuth("u", "p")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain;charset=utf-8" ||
		resp.Header.Get("X-Accel-Buffering") != "no" || resp.Header.Get("Last-Modified") == "" ||
		!slices.Equal(resp.TransferEncoding, []string{"chunked"}) {
		t.Fatalf("status %d headers %v te %v", resp.StatusCode, resp.Header, resp.TransferEncoding)
	}
	stream := &streamReader{t: t, r: resp.Body}
	stream.expect(big[len(big)-1024:])

	appendFile(t, path, "more\n")
	stream.expect("more\n")
	writeFile(t, path, "x\n") // shrink in place
	stream.expect("==> File truncated <==\nx\n")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "rotated\n")
	stream.expect("rotated\n")

	req, _ = http.NewRequest("GET", srv.URL+"/mainlogtail", nil)
	req.SetBasicAuth("u", "p")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	if resp2.Header.Get("X-Accel-Buffering") != "" {
		t.Errorf("mainlogtail sets X-Accel-Buffering")
	}
	(&streamReader{t: t, r: resp2.Body}).expect("2026-11-30 04:00:00,000 INFO supervisord started\n")
}

func appendFile(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
}

// streamReader reads exact byte counts from an endless response, failing
// after a deadline.
type streamReader struct {
	t *testing.T
	r io.Reader
}

func (s *streamReader) expect(want string) {
	s.t.Helper()
	got := make([]byte, len(want))
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(s.r, got); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			s.t.Fatalf("reading stream: %v", err)
		}
	case <-time.After(10 * time.Second):
		s.t.Fatalf("stream did not deliver %q in time", want)
	}
	if string(got) != want {
		s.t.Fatalf("stream: got %q, want %q", got, want)
	}
}

// TestLogtailLimit: streams beyond MaxLogTails are refused, and a slot
// frees when its client leaves.
func TestLogtailLimit(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeBackend(t), HandlerOptions{MaxLogTails: 1})
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/mainlogtail", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("first stream: %d", resp.StatusCode)
	}
	resp2, err := http.Get(srv.URL + "/logtail/cat")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second stream: %d, want 503", resp2.StatusCode)
	}
	cancel()
	resp.Body.Close()
	testenv.Eventually(t, 10*time.Second, func() error {
		r, err := http.Get(srv.URL + "/logtail/cat")
		if err != nil {
			return err
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			return errors.New(r.Status)
		}
		return nil
	})
}

// TestSlowSenderDoesNotStall: a client trickling a large body holds the
// only large-body slot, and ordinary calls still answer at once.
func TestSlowSenderDoesNotStall(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeBackend(t), HandlerOptions{MaxConcurrentRPC: 1})
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n<methodCall>", 1<<20)
	c := &rpcClient{t: t, url: srv.URL, http: &http.Client{Timeout: 5 * time.Second}}
	for range 3 {
		if v, err := c.call("supervisor.getPID"); err != nil || v != 777 {
			t.Fatalf("getPID beside a slow sender: %v, %v", v, err)
		}
	}
}

// TestLongCallsOutliveReadTimeout: the server's ReadTimeout bounds how
// long a client may take to send a request, not how long a waiting call
// or a log stream may last.
func TestLongCallsOutliveReadTimeout(t *testing.T) {
	t.Parallel()
	b := newFakeBackend(t)
	// ReadTimeout also bounds how long the test's own client may take to
	// send its request on a loaded machine: a second.
	const readTimeout = time.Second
	b.startDelay = readTimeout * 3 / 2
	srv := httptest.NewUnstartedServer(NewHandler(b, HandlerOptions{}))
	srv.Config.ReadTimeout = readTimeout
	srv.Start()
	t.Cleanup(srv.Close)
	c := &rpcClient{t: t, url: srv.URL}
	if v, err := c.call("supervisor.startProcess", "grp:a", true); err != nil || v != true {
		t.Errorf("start with wait beyond ReadTimeout: %v, %v", v, err)
	}
	resp, err := http.Get(srv.URL + "/logtail/cat")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stream := &streamReader{t: t, r: resp.Body}
	stream.expect("stdout of cat\n")
	time.Sleep(readTimeout * 6 / 5) // past ReadTimeout, on purpose
	appendFile(t, b.procs[0].info.LogFiles[protocol.Stdout], "later\n")
	stream.expect("later\n")
}

// TestFailedFaults: errors that are not Faults, and unreadable logs,
// become FAILED.
func TestFailedFaults(t *testing.T) {
	t.Parallel()
	b := newFakeBackend(t)
	b.restartErr = errors.New("engine stopped")
	b.mainLog = t.TempDir() // a directory: exists, cannot be read
	c := &rpcClient{t: t, url: newTestServer(t, b, HandlerOptions{}).URL}
	_, err := c.call("supervisor.restart")
	if f, ok := err.(*Fault); !ok || f.Code != protocol.FaultFailed || f.String != "FAILED: engine stopped" {
		t.Errorf("restart: %v, want FAILED: engine stopped", err)
	}
	if _, err := c.call("supervisor.readLog", 0, 0); faultCode(err) != protocol.FaultFailed {
		t.Errorf("readLog of a directory: %v, want FAILED", err)
	}
}

// TestLogtailEndsWhenClientHangsUp: supervisorctl's request carries a
// stray CRLF after the headers; the stream must still end when the
// client goes away, however quiet the log.
func TestLogtailEndsWhenClientHangsUp(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeBackend(t), HandlerOptions{MaxLogTails: 1})
	// Each stream can start only once the previous one's handler has
	// returned and freed the only slot.
	for range 3 {
		testenv.Eventually(t, 10*time.Second, func() error {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				return err
			}
			defer conn.Close()
			io.WriteString(conn, "GET /logtail/cat HTTP/1.1\r\nHost: x\r\n\r\n")
			status := make([]byte, len("HTTP/1.1 200"))
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(conn, status); err != nil {
				return err
			}
			if string(status) != "HTTP/1.1 200" {
				return errors.New(string(status))
			}
			// The stray CRLF arrives once the stream runs, as it does
			// from supervisorctl.
			_, err = io.WriteString(conn, "\r\n")
			return err
		})
	}
}
