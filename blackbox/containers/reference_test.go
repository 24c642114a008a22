package containers

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// TestReferenceIgnoresTheKeys: the configs of this package, with every
// key of issue 15, start under Supervisor 4.2.5, which ignores them; the
// programs run (in its priority order, with nothing waiting).
func TestReferenceIgnoresTheKeys(t *testing.T) {
	supervisordKeys := "environment_file={{here}}/global.env\nexit_when_all_ended=true\nsubreaper=true\norphans=stop"
	programs := dependencyPrograms + "\n" +
		program("envy", "env", "{{here}}/env.out", "environment_file={{here}}/app.env, -{{here}}/conf.d/*.env\ndepends_on=db=started, api\ndepends_on_timeout_secs=30\nexit_on_fatal=true\nexit_on_end=unexpected\nbackoff_max_secs=60\nstartretries=-1")
	for _, impl := range []implementation{reference, ours} {
		t.Run(impl.name, func(t *testing.T) {
			r := newRun(t, impl, supervisordKeys, programs)
			writeFile(t, r.path("global.env"), "GLOBAL=g\n", 0o644)
			writeFile(t, r.path("app.env"), "APP=a\n", 0o644)
			r.start(t)
			testenv.Eventually(t, 60*time.Second, func() error {
				r.checkAlive(t)
				var infos []procInfo
				if err := r.call("supervisor.getAllProcessInfo", nil, &infos); err != nil {
					return err
				}
				for _, p := range infos {
					if p.StateName != "RUNNING" {
						return fmt.Errorf("%s is %s (%s)", p.Name, p.StateName, p.Description)
					}
				}
				return nil
			})
			env := readEnv(t, r.path("env.out"))
			// Only ours reads the files.
			if got, want := env["APP"] == "a" && env["GLOBAL"] == "g", impl.name == "ours"; got != want {
				t.Errorf("APP=%q GLOBAL=%q", env["APP"], env["GLOBAL"])
			}
			if impl.name == "ref" {
				if log := r.mainLog(); strings.Contains(log, "depends_on") || strings.Contains(log, "ERROR") {
					t.Errorf("reference main log:\n%s", log)
				}
			}
			_ = os.Remove(r.path("env.out"))
		})
	}
}
