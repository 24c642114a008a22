package rpc

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/testenv"
)

// pythonClientScript drives every method with Python's xmlrpc.client
// through supervisor's own transport (unix or http, with basic auth),
// the way supervisorctl and third-party scripts do.
const pythonClientScript = `
import sys
import xmlrpc.client as x
from supervisor.xmlrpc import SupervisorTransport

url, user, pw = sys.argv[1], sys.argv[2] or None, sys.argv[3] or None
s = x.ServerProxy('http://127.0.0.1', transport=SupervisorTransport(user, pw, url))
sv = s.supervisor

def fault(code, f, *a):
    try:
        f(*a)
    except x.Fault as e:
        assert e.faultCode == code, (a, e)
        return e.faultString
    raise AssertionError('no fault for %r' % (a,))

def ok(name, group):
    return {'name': name, 'group': group, 'status': 80, 'description': 'OK'}

assert sv.getAPIVersion() == '3.0'
assert sv.getVersion() == '3.0'
assert sv.getSupervisorVersion() == '4.2.5'
assert sv.getIdentification() == 'supervisor'
assert sv.getState() == {'statecode': 1, 'statename': 'RUNNING'}
assert sv.getPID() == 777
info = sv.getProcessInfo('cat')
assert info['pid'] == 4242 and info['statename'] == 'RUNNING' and info['description'] == 'pid 4242, uptime 0:00:05', info
assert sorted(info) == sorted(['name', 'group', 'start', 'stop', 'now', 'state', 'statename', 'spawnerr',
    'exitstatus', 'logfile', 'stdout_logfile', 'stderr_logfile', 'pid', 'description']), info
assert [p['name'] for p in sv.getAllProcessInfo()] == ['cat', 'failer', 'a', 'b', 'nofile']
assert [c['name'] for c in sv.getAllConfigInfo()] == ['a', 'b', 'cat', 'failer', 'newgrp', 'nofile']
assert fault(10, sv.getProcessInfo, 'nosuch') == 'BAD_NAME: nosuch'
assert fault(10, sv.getProcessInfo, 'grp:*') == 'BAD_NAME: grp:*'
assert sv.readLog(-8, 0) == 'started\n'
assert sv.readMainLog(0, 4) == '2026'
assert fault(3, sv.readLog, -1, 1) == 'BAD_ARGUMENTS'
assert sv.readProcessStdoutLog('cat', 0, 0) == 'stdout of cat\n'
assert sv.readProcessLog('cat', 0, 6) == 'stdout'
assert sv.readProcessStderrLog('cat', 0, 0) == 'stderr of cat\n'
assert fault(20, sv.readProcessStderrLog, 'grp:a', 0, 0).startswith('NO_FILE: /')
assert sv.readProcessStdoutLog('grp:b', 0, 0) == '\ufffd[31mred\ufffd[0m \ufffd\n'
assert sv.tailProcessStdoutLog('cat', 0, 5) == [' cat\n', 14, True]
assert sv.tailProcessLog('cat', 0, 100) == ['stdout of cat\n', 14, False]
assert sv.tailProcessStderrLog('grp:a', 0, 100) == ['', 0, False]
assert sv.startProcess('grp:a') is True
assert fault(60, sv.startProcess, 'grp:a') == 'ALREADY_STARTED: grp:a'
assert fault(50, sv.startProcess, 'failer', True) == 'SPAWN_ERROR: failer'
assert fault(20, sv.startProcess, 'nofile')
assert sv.stopProcess('grp:*') == [ok('a', 'grp'), ok('b', 'grp')]
assert fault(70, sv.stopProcess, 'grp:a') == 'NOT_RUNNING: grp:a'
assert sv.startProcessGroup('grp', False) == [ok('a', 'grp'), ok('b', 'grp')]
assert sv.stopProcessGroup('grp') == [ok('a', 'grp'), ok('b', 'grp')]
assert sv.startProcess('grp:*', True) == [ok('a', 'grp'), ok('b', 'grp')]
assert sv.signalProcess('cat', 'HUP') is True
assert fault(11, sv.signalProcess, 'cat', 'NOPE') == 'BAD_SIGNAL: NOPE'
assert sv.signalProcess('grp:*', 'SIGUSR1') == [ok('a', 'grp'), ok('b', 'grp')]
assert sv.signalProcessGroup('cat', '15') == [ok('cat', 'cat')]
assert sv.signalAllProcesses('HUP') == [ok('cat', 'cat'), ok('a', 'grp'), ok('b', 'grp')]
assert sv.stopAllProcesses() == [ok('cat', 'cat'), ok('a', 'grp'), ok('b', 'grp')]
res = sv.startAllProcesses(True)
assert [(r['name'], r['status']) for r in res] == [('cat', 80), ('failer', 50), ('a', 80), ('b', 80), ('nofile', 20)], res
assert sv.sendProcessStdin('cat', 'h\u00e9llo\n') is True
assert fault(70, sv.sendProcessStdin, 'nofile', 'x') == 'NOT_RUNNING: nofile'
assert sv.sendRemoteCommEvent('type', 'data') is True
assert sv.clearProcessLogs('cat') is True
assert sv.clearProcessLog('grp:a') is True
assert len(sv.clearAllProcessLogs()) == 5
assert sv.clearLog() is True
assert sv.readLog(0, 0) == ''
assert sv.reloadConfig() == [[['newgrp'], ['grp'], []]]
assert sv.addProcessGroup('newgrp') is True
assert fault(90, sv.addProcessGroup, 'grp') == 'ALREADY_ADDED: grp'
assert fault(91, sv.removeProcessGroup, 'grp') == 'STILL_RUNNING: grp'
assert sv.removeProcessGroup('failer') is True
assert fault(1, sv.nosuch) == 'UNKNOWN_METHOD'
assert fault(2, sv.getPID, 1) == 'INCORRECT_PARAMETERS'
assert fault(60, sv.startProcess, 'cat', 'yes') == 'ALREADY_STARTED: cat'
assert fault(2, sv.sendProcessStdin, 'cat', 5) == 'INCORRECT_PARAMETERS: 5'
assert fault(10, sv.getProcessInfo, '') == 'BAD_NAME: '
assert sv.signalProcess('cat', 1) is True
names = s.system.listMethods()
assert len(names) == 48 and names == sorted(names) and 'gosupervisor.getProcessHealth' in names and 'gosupervisor.getProcessExits' in names, names
assert 'gosupervisor.upgrade' in names and 'gosupervisor.getUpgradeInfo' in names, names
assert s.system.methodSignature('supervisor.getState') == ['struct']
assert s.system.methodSignature('supervisor.signalProcessGroup') == ['array', 'string', 'string']
assert '@param string name' in s.system.methodHelp('supervisor.startProcess')
assert fault(4, s.system.methodHelp, 'x.y') == 'SIGNATURE_UNSUPPORTED'
m = s.system.multicall([{'methodName': 'supervisor.getPID'},
                        {'methodName': 'supervisor.nosuch', 'params': []},
                        {'methodName': 'supervisor.getState', 'params': []}])
assert m == [777, {'faultCode': 1, 'faultString': 'UNKNOWN_METHOD'},
             {'statecode': 1, 'statename': 'RUNNING'}], m
assert sv.shutdown() is True
assert fault(6, sv.getState) == 'SHUTDOWN_STATE'
assert sv.sendRemoteCommEvent('type', 'late') is True
print('OK')
`

// serveUnix serves h on a socket made by ListenUnix in a temp dir.
func serveUnix(t *testing.T, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "sock")
	ln, err := ListenUnix(config.UnixHTTPServer{File: sock, ChownUID: -1, ChownGID: -1}, UnixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(context.Background(), h)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
		if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket %s left behind after close: %v", sock, err)
		}
	})
	return sock
}

func prepareClientBackend(t *testing.T) *fakeBackend {
	b := newFakeBackend(t)
	writeFile(t, b.procs[3].info.LogFiles[protocol.Stdout], "\x1b[31mred\x1b[0m \xff\n")
	return b
}

func runPython(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(testenv.Python3, append([]string{"-c", pythonClientScript}, args...)...)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "OK" {
		t.Fatalf("python client: %v\n%s", err, out)
	}
}

func TestPythonClient(t *testing.T) {
	t.Parallel()
	testenv.RequireReference(t)
	t.Run("inet with auth", func(t *testing.T) {
		t.Parallel()
		b := prepareClientBackend(t)
		srv := newTestServer(t, b, HandlerOptions{Username: "user", Password: "{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d"})
		runPython(t, srv.URL, "user", "thepassword")
	})
	t.Run("unix socket", func(t *testing.T) {
		t.Parallel()
		sock := serveUnix(t, NewHandler(prepareClientBackend(t), HandlerOptions{Now: fakeNow}))
		runPython(t, "unix://"+sock, "", "")
	})
}

// TestStockSupervisorctl runs the Python supervisorctl against the
// handler; expected outputs are what it prints against the reference
// daemon in the equivalent state (observed on 4.2.5).
func TestStockSupervisorctl(t *testing.T) {
	t.Parallel()
	testenv.RequireReference(t)
	b := newFakeBackend(t)
	sock := serveUnix(t, NewHandler(b, HandlerOptions{Username: "u", Password: "pw", Now: fakeNow}))
	conf := filepath.Join(t.TempDir(), "ctl.conf")
	writeFile(t, conf, "[supervisorctl]\nserverurl=unix://"+sock+"\nusername=u\npassword=pw\n")
	ctl := func(args ...string) (string, int) {
		cmd := exec.Command(testenv.PythonSupervisorctl, append([]string{"-c", conf}, args...)...)
		cmd.Dir = t.TempDir()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("supervisorctl %v: %v", args, err)
		}
		return out.String(), cmd.ProcessState.ExitCode()
	}
	cases := []struct {
		cmd      string
		want     string
		wantCode int
	}{
		{"status", "" +
			"cat                              RUNNING   pid 4242, uptime 0:00:05\n" +
			"failer                           FATAL     Exited too quickly (process log may have details)\n" +
			"grp:a                            STOPPED   Not started\n" +
			"grp:b                            RUNNING   pid 4343, uptime 0:00:05\n" +
			"nofile                           STOPPED   Not started\n", 3},
		{"status cat", "cat                              RUNNING   pid 4242, uptime 0:00:05\n", 0},
		{"start cat", "cat: ERROR (already started)\n", 0},
		{"stop cat", "cat: stopped\n", 0},
		{"start cat", "cat: started\n", 0},
		{"version", "4.2.5\n", 0},
		{"pid", "777\n", 0},
		{"pid cat", "5003\n", 0},
		{"pid all", "5003\n0\n0\n4343\n0\n", 0},
		{"tail cat", "stdout of cat\n\n", 0},
		{"tail cat stderr", "stderr of cat\n\n", 0},
		{"tail nosuch", "nosuch: ERROR (no such process name)\n", 1},
		{"maintail -8", "started\n\n", 0},
		{"avail", "" +
			"grp:a                            in use    manual    999:999\n" +
			"grp:b                            in use    auto      999:999\n" +
			"cat                              in use    auto      999:999\n" +
			"failer                           in use    auto      999:999\n" +
			"newgrp                           avail     auto      999:999\n" +
			"nofile                           in use    auto      999:999\n", 0},
		{"reread", "grp: changed\nnewgrp: available\n", 0},
		{"start nofile", "nofile: ERROR (no such file)\n", 1},
		{"start failer", "failer: ERROR (spawn error)\n", 7},
		{"start nosuch", "nosuch: ERROR (no such process)\n", 1},
		{"start grp:a", "grp:a: started\n", 0},
		{"stop grp:*", "grp:a: stopped\ngrp:b: stopped\n", 0},
		{"stop grp:a", "grp:a: ERROR (not running)\n", 0},
		{"start grp:*", "grp:a: started\ngrp:b: started\n", 0},
		{"signal HUP cat", "cat: signalled\n", 0},
		{"signal HUP nofile", "nofile: ERROR (not running)\n", 7},
		{"clear cat", "cat: cleared\n", 0},
		{"add newgrp", "newgrp: added process group\n", 0},
		{"remove grp", "ERROR: process/group still running: grp\n", 1},
	}
	for _, c := range cases {
		got, code := ctl(strings.Fields(c.cmd)...)
		if got != c.want || code != c.wantCode {
			t.Errorf("supervisorctl %s:\n got (exit %d) %q\nwant (exit %d) %q", c.cmd, code, got, c.wantCode, c.want)
		}
	}

	// The reference prints exactly this for a wrong password.
	wantAuth := "Server requires authentication\nerror: <class 'xmlrpc.client.ProtocolError'>, " +
		"<ProtocolError for 127.0.0.1/RPC2: 401 Unauthorized>: file: /usr/lib/python3/dist-packages/supervisor/xmlrpc.py line: 539\n"
	if got, code := ctl("-p", "wrong", "status"); got != wantAuth || code != 1 {
		t.Errorf("wrong password: exit %d %q", code, got)
	}

	// tail -f streams /logtail until killed.
	cmd := exec.Command(testenv.PythonSupervisorctl, "-c", conf, "tail", "-f", "grp:b")
	cmd.Dir = t.TempDir()
	out := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	appendFile(t, b.procs[3].info.LogFiles[protocol.Stdout], "followed line\n")
	testenv.Eventually(t, 20*time.Second, func() error {
		if s := out.String(); !strings.HasPrefix(s, "==> Press Ctrl-C to exit <==\n") || !strings.Contains(s, "followed line\n") {
			return errors.New("tail -f printed " + s)
		}
		return nil
	})
}

func TestListenUnix(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	cfg := config.UnixHTTPServer{File: sock, Chmod: 0o760, ChownUID: -1, ChownGID: -1}
	ln, err := ListenUnix(cfg, UnixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o760 {
		t.Errorf("socket mode %v, want socket 0760", fi.Mode())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary socket name left behind: %v", entries)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	// A live server on the name: refuse.
	if _, err := ListenUnix(cfg, UnixOptions{}); !errors.Is(err, ErrAddressInUse) {
		t.Errorf("second listener: %v, want ErrAddressInUse", err)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("refused listen removed the live socket: %v", err)
	}
	ln.Close()
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Close left the socket: %v", err)
	}

	// A dead socket on the name: unlink it with a report, and take over.
	dead, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	dead.SetUnlinkOnClose(false)
	dead.Close()
	var report bytes.Buffer
	ln2, err := ListenUnix(config.UnixHTTPServer{File: sock, ChownUID: os.Getuid(), ChownGID: os.Getgid()}, UnixOptions{Report: &report})
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	if report.String() != "Unlinking stale socket "+sock+"\n" {
		t.Errorf("report %q", report.String())
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("default mode: %v %v", fi.Mode(), err)
	} else if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Getuid() || int(st.Gid) != os.Getgid() {
		t.Errorf("owner %d:%d", st.Uid, st.Gid)
	}

	// A directory that does not exist: the reference's error wording.
	_, err = ListenUnix(config.UnixHTTPServer{File: filepath.Join(dir, "no", "s"), ChownUID: -1, ChownGID: -1}, UnixOptions{})
	if err == nil || err.Error() != "Cannot open an HTTP server: socket.error reported errno.ENOENT (2)" {
		t.Errorf("missing dir: %v", err)
	}
}

// TestListenUnixLongPath: a name that fits in sun_path is served even
// when the temporary name in the private directory would not fit.
func TestListenUnixLongPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	long := filepath.Join(dir, strings.Repeat("d", maxSunPath-len(dir)-4))
	if err := os.Mkdir(long, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(long, "s")
	var bound string
	ln, err := ListenUnix(config.UnixHTTPServer{File: sock, Chmod: 0o750, ChownUID: -1, ChownGID: -1},
		UnixOptions{Bound: func(p string) { bound = p }})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if len(sock) > maxSunPath || !strings.HasPrefix(bound, "/proc/self/fd/") {
		t.Errorf("socket %q (%d bytes) bound at %q", sock, len(sock), bound)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o750 {
		t.Fatalf("socket: %v %v", fi, err)
	}
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if entries, _ := os.ReadDir(long); len(entries) != 1 {
		t.Errorf("temporary names left behind: %v", entries)
	}
}

func TestListenInet(t *testing.T) {
	t.Parallel()
	ln, err := ListenInet(config.InetHTTPServer{Host: "127.0.0.1", Port: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if _, err := ListenInet(config.InetHTTPServer{Host: "127.0.0.1", Port: port}); !errors.Is(err, ErrAddressInUse) {
		t.Errorf("port in use: %v, want ErrAddressInUse", err)
	}
	all, err := ListenInet(config.InetHTTPServer{Port: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	if a := all.Addr().(*net.TCPAddr); !a.IP.IsUnspecified() || a.IP.To4() == nil {
		t.Errorf("empty host listens on %v, want all IPv4 interfaces", a)
	}
}
