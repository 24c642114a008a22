package supervisord_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// startWithPprof runs our daemon with GOSUPERVISOR_PPROF=addr on a config
// whose unix socket has the given extra keys, and waits until it answers.
func startWithPprof(t *testing.T, addr, socketKeys string) (*testenv.Daemon, string) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "supervisord.conf")
	text := fmt.Sprintf(`[unix_http_server]
file=%[1]s/supervisor.sock
%[2]s

[supervisord]
logfile=%[1]s/supervisord.log
pidfile=%[1]s/supervisord.pid
childlogdir=%[1]s

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
`, dir, socketKeys)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(testenv.Binaries(t), "supervisord")
	addr = strings.ReplaceAll(addr, "DIR", dir)
	d := testenv.Start(t, dir, "/usr/bin/env", "GOSUPERVISOR_PPROF="+addr, bin, "-n", "-c", conf)
	t.Cleanup(func() { d.Stop(t, 10*time.Second) })
	testenv.Eventually(t, 20*time.Second, func() error {
		if s := d.Stderr.String(); strings.Contains(s, "GOSUPERVISOR_PPROF: ") {
			return nil
		}
		return fmt.Errorf("nothing about pprof on stderr yet")
	})
	return d, dir
}

// pprofGet fetches the command line from the profiler through client at
// base, with the given Host and credentials, and returns the status.
func pprofGet(t *testing.T, client *http.Client, base, host, user, password string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/debug/pprof/cmdline", nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("pprof: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && !strings.Contains(string(body), "supervisord") {
		t.Errorf("pprof cmdline answered %q", body)
	}
	return resp.StatusCode
}

var pprofServing = regexp.MustCompile(`GOSUPERVISOR_PPROF: serving (http://127\.0\.0\.1:\d+|unix:\S+)/debug/pprof/`)

// TestPprofOnlyLocalAndAuthenticated: GOSUPERVISOR_PPROF serves
// /debug/pprof only on a loopback address or a unix socket (mode 0700),
// asks for the RPC server's credentials when it has some, and refuses
// DNS-rebinding Host names when it has none. Any other address is
// refused and nothing listens there.
func TestPprofOnlyLocalAndAuthenticated(t *testing.T) {
	t.Parallel()
	t.Run("all interfaces refused", func(t *testing.T) {
		t.Parallel()
		port := freeTCPPort(t)
		d, _ := startWithPprof(t, fmt.Sprintf("0.0.0.0:%d", port), "")
		if s := d.Stderr.String(); !strings.Contains(s, "is neither a loopback address nor a unix socket path; /debug/pprof is not served") || pprofServing.MatchString(s) {
			t.Errorf("stderr: %s", s)
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second); err == nil {
			c.Close()
			t.Errorf("something listens on port %d", port)
		}
	})
	t.Run("loopback with the socket's password", func(t *testing.T) {
		t.Parallel()
		d, _ := startWithPprof(t, "127.0.0.1:0", "username=admin\npassword=s3cret")
		m := pprofServing.FindStringSubmatch(d.Stderr.String())
		if m == nil {
			t.Fatalf("stderr: %s", d.Stderr.String())
		}
		c := &http.Client{Timeout: 30 * time.Second}
		for _, tc := range []struct {
			host, user, password string
			want                 int
		}{
			{"", "", "", http.StatusUnauthorized},
			{"", "admin", "wrong", http.StatusUnauthorized},
			{"", "admin", "s3cret", http.StatusOK},
			{"evil.example", "admin", "s3cret", http.StatusOK},
		} {
			if got := pprofGet(t, c, m[1], tc.host, tc.user, tc.password); got != tc.want {
				t.Errorf("Host %q user %q password %q: status %d, want %d", tc.host, tc.user, tc.password, got, tc.want)
			}
		}
	})
	t.Run("loopback without passwords", func(t *testing.T) {
		t.Parallel()
		d, _ := startWithPprof(t, "127.0.0.1:0", "")
		m := pprofServing.FindStringSubmatch(d.Stderr.String())
		if m == nil {
			t.Fatalf("stderr: %s", d.Stderr.String())
		}
		c := &http.Client{Timeout: 30 * time.Second}
		if got := pprofGet(t, c, m[1], "", "", ""); got != http.StatusOK {
			t.Errorf("status %d, want 200", got)
		}
		if got := pprofGet(t, c, m[1], "evil.example:6060", "", ""); got != http.StatusForbidden {
			t.Errorf("rebinding Host: status %d, want 403", got)
		}
	})
	t.Run("unix socket", func(t *testing.T) {
		t.Parallel()
		d, dir := startWithPprof(t, "unix:DIR/pprof.sock", "username=admin\npassword=s3cret")
		sock := filepath.Join(dir, "pprof.sock")
		if m := pprofServing.FindStringSubmatch(d.Stderr.String()); m == nil || m[1] != "unix:"+sock {
			t.Fatalf("stderr: %s", d.Stderr.String())
		}
		if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o700 {
			t.Errorf("pprof socket: %v %v", fi, err)
		}
		c := testenv.UnixClient(sock)
		if got := pprofGet(t, c, "http://localhost", "", "", ""); got != http.StatusUnauthorized {
			t.Errorf("no credentials: status %d, want 401", got)
		}
		if got := pprofGet(t, c, "http://localhost", "", "admin", "s3cret"); got != http.StatusOK {
			t.Errorf("credentials: status %d, want 200", got)
		}
	})
}

// freeTCPPort returns a TCP port nobody listened on a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
