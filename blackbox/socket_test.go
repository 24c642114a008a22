package blackbox

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// nobodyUID and nobodyGID are the other user of the security tests.
const (
	nobodyUID = 65534
	nobodyGID = 65534
)

// connectScript connects to every unix socket path given, reports each
// attempt ("connected P" or "refused P errno"), prints "attempted", then
// sends a getState request on every connection it holds and prints what
// comes back ("answered P ..." or "no answer P ...").
const connectScript = `
import socket, sys
held = []
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    try:
        s.connect(p)
    except OSError as e:
        print("refused", p, e.errno, flush=True)
        continue
    print("connected", p, flush=True)
    held.append((p, s))
print("attempted", flush=True)
body = b"<?xml version='1.0'?><methodCall><methodName>supervisor.getState</methodName><params></params></methodCall>"
for p, s in held:
    s.sendall(b"POST /RPC2 HTTP/1.0\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    try:
        data = s.recv(4096)
        print("answered", p, repr(data[:120]), flush=True)
    except OSError as e:
        print("no answer", p, e, flush=True)
`

// nobodyConnect starts connectScript as nobody on paths and returns its
// output lines as they come, and a wait for its end.
func nobodyConnect(t *testing.T, paths ...string) (lines <-chan string, wait func() string) {
	t.Helper()
	testenv.RequireReference(t) // for /usr/bin/python3
	cmd := exec.Command(testenv.Python3, append([]string{"-c", connectScript}, paths...)...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobodyUID, Gid: nobodyGID, Groups: []uint32{}}}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testenv.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the client as nobody: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	ch := make(chan string, 16)
	var all strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			ch <- sc.Text()
		}
	}()
	return ch, func() string {
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("client as nobody did not finish")
			_ = cmd.Process.Kill()
			<-done
		}
		_ = cmd.Wait()
		return all.String() + stderr.String()
	}
}

// worldDir makes a temp directory others may enter (t.TempDir is 0700,
// which alone would keep nobody out and prove nothing about the socket).
func worldDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// socketConfig is a daemon with only a unix socket (no password), extra
// being more keys of [unix_http_server].
func socketConfig(dir, extra string) string {
	return fmt.Sprintf(`[unix_http_server]
file=%[1]s/sock
%[2]s

[supervisord]
logfile=%[1]s/main.log
pidfile=%[1]s/supervisord.pid
childlogdir=%[1]s

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
`, dir, extra)
}

// TestUnixSocketNeverReachableBeforeChmod holds our daemon right after it
// bound its unix socket, before the socket's mode is set (a test hook),
// with umask 000 so the freshly bound socket is mode 0777, and has
// nobody try to connect both to the socket's temporary path and to its
// configured name. Neither may connect, and nothing nobody sent may ever
// be answered; once released, the socket has its configured mode 0700
// and still refuses nobody. (Issue 19: the socket used to listen at
// "<file>.<pid>" with the umask's mode until chmod, and a connection made
// then was answered later.)
func TestUnixSocketNeverReachableBeforeChmod(t *testing.T) {
	t.Parallel()
	dir := worldDir(t)
	hold := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(hold, "release"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(conf, []byte(socketConfig(dir, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(testenv.Binaries(t), "supervisord")
	d := testenv.Start(t, dir, "/bin/sh", "-c", `umask 000; exec env GOSUPERVISOR_TEST_SOCKET_HOLD="$2" "$0" -n -c "$1"`, bin, conf, hold)

	var bound string
	testenv.Eventually(t, 20*time.Second, func() error {
		select {
		case <-d.Exited:
			t.Fatalf("daemon exited: %v\n%s", d.ExitErr, d.Stderr.String())
		default:
		}
		b, err := os.ReadFile(filepath.Join(hold, "bound"))
		bound = string(b)
		return err
	})
	// The hook really holds a bound socket whose mode is still the
	// umask's: the window exists, and only where it lives protects it.
	fi, err := os.Stat(bound)
	if err != nil {
		t.Fatalf("held socket %s: %v", bound, err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o777 {
		t.Fatalf("held socket %s has mode %v; the hook must run before the mode is set (umask 000 gives 0777)", bound, fi.Mode())
	}

	sock := filepath.Join(dir, "sock")
	lines, wait := nobodyConnect(t, bound, sock)
	for line := range lines {
		if line == "attempted" {
			break
		}
		if strings.HasPrefix(line, "connected") {
			t.Errorf("while held between bind and chmod, nobody %s", line)
		}
	}
	release, err := os.OpenFile(filepath.Join(hold, "release"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(release, "go\n")
	release.Close()
	testenv.WaitUnixHTTP(t, sock, 20*time.Second)
	if out := wait(); strings.Contains(out, "answered") {
		t.Errorf("nobody's connection from the window was answered:\n%s", out)
	}

	fi, err = os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o700 || fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("socket after start: %v %v, want 0700 owned by root", fi.Mode(), err)
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".sock*")); len(entries) > 0 {
		t.Errorf("temporary names left behind: %v", entries)
	}
	_, wait = nobodyConnect(t, sock)
	if out := wait(); !strings.Contains(out, "refused "+sock+" 13") {
		t.Errorf("nobody on the 0700 socket: %s", out)
	}
	d.Stop(t, 10*time.Second)
}

// TestUnixSocketModeAndOwner: what chmod= and chown= grant, nobody gets,
// on both daemons; what they do not, nobody does not get. This also
// shows that the client run as nobody can reach a socket in worldDir.
func TestUnixSocketModeAndOwner(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, extra string
		mode        os.FileMode
		uid         uint32
		reachable   bool
	}{
		{"0777", "chmod=0777", 0o777, 0, true},
		{"0770 root", "chmod=0770", 0o770, 0, false},
		{"0700 chown nobody", "chmod=0700\nchown=nobody:nogroup", 0o700, nobodyUID, true},
		{"default", "", 0o700, 0, false},
	}
	for _, impl := range implementations {
		for _, c := range cases {
			t.Run(impl.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				dir := worldDir(t)
				conf := filepath.Join(dir, "supervisord.conf")
				if err := os.WriteFile(conf, []byte(socketConfig(dir, c.extra)), 0o644); err != nil {
					t.Fatal(err)
				}
				d := testenv.Start(t, dir, impl.bin(t), "-n", "-c", conf)
				sock := filepath.Join(dir, "sock")
				testenv.WaitUnixHTTP(t, sock, 20*time.Second)
				fi, err := os.Stat(sock)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != c.mode || fi.Sys().(*syscall.Stat_t).Uid != c.uid {
					t.Errorf("socket %v uid %d, want %v uid %d", fi.Mode(), fi.Sys().(*syscall.Stat_t).Uid, c.mode, c.uid)
				}
				_, wait := nobodyConnect(t, sock)
				out := wait()
				if got := strings.Contains(out, "answered "+sock) && strings.Contains(out, "HTTP/1.0 200 OK"); got != c.reachable {
					t.Errorf("nobody answered: %v, want %v:\n%s", got, c.reachable, out)
				}
				d.Stop(t, 10*time.Second)
			})
		}
	}
}
