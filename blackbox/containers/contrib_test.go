package containers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// TestContribDockerExample runs contrib/docker's supervisord.conf and
// demo programs as the image would (supervisord as PID 1 of a pid
// namespace), with the image's paths moved into a temp dir and user app
// replaced by nobody. Ours: the migration runs first, the service starts
// after it with the root-only secret its user could not read, the worker
// after the service, and SIGTERM stops the worker before the service and
// exits 0. The reference runs the same file (without the ordering, the
// secret and nobody's HOME: it ignores the keys).
func TestContribDockerExample(t *testing.T) {
	root := testenv.RepoRoot()
	conf, err := os.ReadFile(filepath.Join(root, "contrib", "docker", "supervisord.conf"))
	if err != nil {
		t.Fatal(err)
	}
	demo, err := os.ReadFile(filepath.Join(root, "contrib", "docker", "demo.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, impl := range []implementation{ours, reference} {
		t.Run(impl.name, func(t *testing.T) {
			r := newRun(t, impl, "", "")
			text := strings.NewReplacer(
				"/usr/local/bin/demo", r.path("demo"),
				"/etc/app/", r.path("etc")+"/",
				"/run/supervisor/", r.dir+"/",
				"user=app", "user=nobody",
			).Replace(string(conf))
			if strings.Contains(text, "user=app") || !strings.Contains(text, "user=nobody") {
				t.Fatalf("the example's programs no longer run as user app:\n%s", conf)
			}
			writeFile(t, r.conf, text, 0o644)
			writeFile(t, r.path("demo"), string(demo), 0o755)
			writeFile(t, r.path("etc", "secrets.env"), "DB_PASSWORD=change-me\n", 0o600)
			r.sock = r.path("supervisor.sock")

			pid := startPID1(t, r)
			testenv.Eventually(t, 30*time.Second, func() error {
				r.checkAlive(t)
				var state map[string]any
				return r.call("supervisor.getState", nil, &state)
			})
			r.waitState(t, "migrate", "EXITED", 30*time.Second)
			r.waitState(t, "app", "RUNNING", 30*time.Second)
			r.waitState(t, "worker", "RUNNING", 30*time.Second)
			secret, home := 9, "/nonexistent" // nobody's passwd entry
			if impl.name == "ref" {
				// No environment_file, and HOME is supervisord's own
				// (Supervisor #435).
				secret, home = 0, os.Getenv("HOME")
			}
			serving := fmt.Sprintf("serve: listening on 8080 as nobody (HOME=%s, secret of %d bytes)", home, secret)
			testenv.Eventually(t, 10*time.Second, func() error {
				if out := r.daemon.Stdout.String(); !strings.Contains(out, "work: started") || !strings.Contains(out, serving) {
					return fmt.Errorf("stdout so far:\n%s", out)
				}
				return nil
			})
			out := r.daemon.Stdout.String()
			if impl.name == "ours" {
				migrated, served, worked := strings.Index(out, "migrate: schema up to date"), strings.Index(out, serving), strings.Index(out, "work: started")
				if !(migrated >= 0 && migrated < served && served < worked) {
					t.Errorf("start order in stdout (migrate, serve, work wanted):\n%s", out)
				}
			}
			if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := r.waitExit(t, 60*time.Second); code != 0 {
				t.Errorf("exit status %d after SIGTERM, want 0\n%s", code, r.daemon.Stdout.String())
			}
			out = r.daemon.Stdout.String()
			work, serve := strings.Index(out, "work: stopping"), strings.Index(out, "serve: stopping")
			if work < 0 || serve < 0 || work > serve {
				t.Errorf("stop order in stdout (work, then serve wanted):\n%s", out)
			}
		})
	}
}
