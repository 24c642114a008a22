package ctl

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// fakeInterrupt is a Ctrl-C the test presses by closing the channel.
type fakeInterrupt chan struct{}

func (f fakeInterrupt) notify() (<-chan struct{}, func()) { return f, func() {} }

// runOursAsync runs our client in-process with stdin and a fake Ctrl-C;
// the returned channel yields the exit status.
func runOursAsync(dir string, stdin io.Reader, out *syncBuffer, ctrlC fakeInterrupt, args ...string) <-chan int {
	done := make(chan int, 1)
	env := environment{cwd: dir, getenv: os.LookupEnv, environ: os.Environ(), notifyInterrupt: ctrlC.notify}
	go func() {
		done <- run(append([]string{testenv.PythonSupervisorctl}, args...), stdin, out, out, env)
	}()
	return done
}

// startPython starts the stock client with stdin, its output in out.
func startPython(t *testing.T, dir string, stdin io.Reader, out *syncBuffer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(testenv.PythonSupervisorctl, args...)
	cmd.Dir, cmd.Stdin, cmd.Stdout, cmd.Stderr = dir, stdin, out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// waitFor polls out until it contains want. The deadline is generous: on a
// loaded machine the stock client alone takes seconds to start.
func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	testenv.Eventually(t, 60*time.Second, func() error {
		if !strings.Contains(out.String(), want) {
			return fmt.Errorf("output %q lacks %q", out.String(), want)
		}
		return nil
	})
}

// TestGoldenTailFollow compares tail -f and maintail -f up to a Ctrl-C.
func TestGoldenTailFollow(t *testing.T) {
	for _, kind := range daemons {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			d := startDaemon(t, kind, []program{{"sleeper", "serve", "startsecs=0"}}, "", "")
			for _, tc := range []struct{ args, shows string }{
				{"tail -f sleeper", "hello\n"},
				{"tail -f sleeper stderr", "err\n"},
				{"maintail -f", "entered RUNNING state"},
			} {
				t.Run(tc.args, func(t *testing.T) {
					args := append([]string{"-c", d.conf}, strings.Fields(tc.args)...)
					// A SIGINT that lands inside the reference's socket
					// handler is reported as "Cannot connect, error: <class
					// 'KeyboardInterrupt'>" instead of ending the tail
					// cleanly: a race of its own. Ask it again then.
					var want *syncBuffer
					var wantCode int
					for attempt := 0; attempt < 5; attempt++ {
						want, wantCode = pythonUntilCtrlC(t, d.dir, tc.shows, args)
						if !strings.Contains(want.String(), "<class 'KeyboardInterrupt'>") {
							break
						}
					}

					var got syncBuffer
					ctrlC := make(fakeInterrupt)
					done := runOursAsync(d.dir, strings.NewReader(""), &got, ctrlC, args...)
					waitFor(t, &got, tc.shows)
					close(ctrlC)
					var gotCode int
					select {
					case gotCode = <-done:
					case <-time.After(60 * time.Second):
						t.Fatal("tail -f did not end after Ctrl-C")
					}
					compareOutcomes(t, outcome{stdout: want.String(), code: wantCode}, outcome{stdout: got.String(), code: gotCode})
				})
			}
		})
	}
}

// pythonUntilCtrlC runs the stock client until its output shows shows,
// then sends it SIGINT and waits for it.
func pythonUntilCtrlC(t *testing.T, dir, shows string, args []string) (*syncBuffer, int) {
	t.Helper()
	var out syncBuffer
	cmd := startPython(t, dir, strings.NewReader(""), &out, args...)
	waitFor(t, &out, shows)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		return &out, cmd.ProcessState.ExitCode()
	}
	return &out, 0
}

// TestGoldenFg drives fg: a line typed is sent to the process, whose
// answer and logs come back; end of input leaves foreground mode. The
// streams interleave by timing, so lines are compared as sets.
func TestGoldenFg(t *testing.T) {
	for _, kind := range daemons {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			// Each client gets a program of its own: a log the other
			// session already wrote "got: ping" to would satisfy the wait
			// below before this session's own echo came back.
			d := startDaemon(t, kind, []program{{"first", "serve", "startsecs=0"}, {"second", "serve", "startsecs=0"}}, "", "")
			// cut: judge the output up to the first "Exiting foreground"
			// (the reference's output thread, left running, may still
			// print "CLOSED Cannot connect, error: <class 'SystemExit'> ()"
			// as the client exits, depending on timing).
			session := func(cut bool, start func(stdin io.Reader, out *syncBuffer) func() int) []string {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				var out syncBuffer
				wait := start(r, &out)
				waitFor(t, &out, "err\n")
				io.WriteString(w, "ping\n")
				waitFor(t, &out, "got: ping\n")
				w.Close()
				if code := wait(); code != 0 {
					t.Errorf("fg exit status %d, want 0", code)
				}
				text := out.String()
				if cut {
					if i := strings.Index(text, "Exiting foreground\n"); i >= 0 {
						text = text[:i+len("Exiting foreground\n")]
					}
				}
				if !strings.HasSuffix(text, "Exiting foreground\n") {
					t.Errorf("fg output %q does not end with Exiting foreground", text)
				}
				lines := strings.Split(text, "\n")
				sort.Strings(lines)
				return lines
			}
			want := session(true, func(stdin io.Reader, out *syncBuffer) func() int {
				startPython(t, d.dir, stdin, out, "-c", d.conf, "fg", "first")
				// The reference's output thread lingers in a 30 s select
				// after "Exiting foreground": judge it by its output (the
				// cleanup kills it).
				return func() int {
					waitFor(t, out, "Exiting foreground\n")
					return 0
				}
			})
			got := session(false, func(stdin io.Reader, out *syncBuffer) func() int {
				done := runOursAsync(d.dir, stdin, out, make(fakeInterrupt), "-c", d.conf, "fg", "second")
				return func() int { return <-done }
			})
			if strings.Join(want, "\n") != strings.Join(got, "\n") {
				t.Errorf("fg lines differ:\nreference %q\nours      %q", want, got)
			}
		})
	}
}

// TestTailFollowAcrossRotation: tail -f keeps following a log that
// rotates many times while it is being read.
func TestTailFollowAcrossRotation(t *testing.T) {
	for _, kind := range daemons {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			d := startDaemon(t, kind, []program{{"chatter", "chatter",
				"startsecs=0\nstdout_logfile=%(here)s/chatter.log\nstdout_logfile_maxbytes=1KB\nstdout_logfile_backups=1"}}, "", "")
			var out syncBuffer
			ctrlC := make(fakeInterrupt)
			done := runOursAsync(d.dir, strings.NewReader(""), &out, ctrlC, "-c", d.conf, "tail", "-f", "chatter")
			first := regexp.MustCompile(`line (\d{5})`)
			var start int
			testenv.Eventually(t, 15*time.Second, func() error {
				m := first.FindStringSubmatch(out.String())
				if m == nil {
					return fmt.Errorf("no line yet in %q", out.String())
				}
				start, _ = strconv.Atoi(m[1])
				return nil
			})
			// 1 KB holds about 90 lines: 400 more lines mean several rotations.
			waitFor(t, &out, fmt.Sprintf("line %05d\n", start+400))
			close(ctrlC)
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("exit status %d, want 0", code)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("tail -f did not end after Ctrl-C")
			}
			if _, err := os.Stat(d.dir + "/chatter.log.1"); err != nil {
				t.Errorf("the log never rotated: %v", err)
			}
		})
	}
}
