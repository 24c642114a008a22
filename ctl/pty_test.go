package ctl

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"gosupervisor/internal/testenv"
)

var (
	ctlBuildOnce sync.Once
	ctlBin       string
	ctlBuildErr  error
)

// builtCtl builds ./cmd/supervisorctl once (only it: the shell test needs
// a real process on a terminal, not the rest of ./cmd).
func builtCtl(t *testing.T) string {
	t.Helper()
	ctlBuildOnce.Do(func() {
		dir, err := testenv.BuildDir("gosupervisorctl")
		if err != nil {
			ctlBuildErr = err
			return
		}
		bin := filepath.Join(dir, "supervisorctl")
		if ctlBuildErr = testenv.GoBuild("-o", bin, "./cmd/supervisorctl"); ctlBuildErr != nil {
			return
		}
		ctlBin = bin
	})
	if ctlBuildErr != nil {
		t.Fatal(ctlBuildErr)
	}
	return ctlBin
}

// terminal is our supervisorctl running on a pseudo-terminal.
type terminal struct {
	t    *testing.T
	cmd  *exec.Cmd
	tty  *os.File
	out  syncBuffer
	mark int // offset in out where the next expect starts looking
	done chan struct{}
}

func startTerminal(t *testing.T, dir string, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command(builtCtl(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TERM=xterm")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, cmd: cmd, tty: tty, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		io.Copy(&term.out, tty)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		tty.Close()
		<-term.done
	})
	return term
}

// expect waits until want shows up after the previous expectation.
func (term *terminal) expect(want string) {
	term.t.Helper()
	testenv.Eventually(term.t, 15*time.Second, func() error {
		all := term.out.String()
		if i := strings.Index(all[term.mark:], want); i >= 0 {
			term.mark += i + len(want)
			return nil
		}
		return fmt.Errorf("terminal shows %q after offset %d, want %q", all[term.mark:], term.mark, want)
	})
}

func (term *terminal) send(keys string) {
	term.t.Helper()
	if _, err := io.WriteString(term.tty, keys); err != nil {
		term.t.Fatal(err)
	}
}

// exitCode waits for the client to end.
func (term *terminal) exitCode() int {
	term.t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- term.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			return term.cmd.ProcessState.ExitCode()
		}
		return 0
	case <-time.After(15 * time.Second):
		term.t.Fatal("supervisorctl did not exit")
		return -1
	}
}

// TestShellOnTerminal drives the interactive shell through a pty: the
// opening status, tab completion of commands and process names, the
// listing of several candidates, tail -f left with Ctrl-C, history kept
// in history_file across sessions, and the exit status 0.
func TestShellOnTerminal(t *testing.T) {
	for _, kind := range daemons {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			d := startDaemon(t, kind, []program{
				{"sleeper", "serve", "startsecs=0"},
				{"multi", "serve", "numprocs=2\nprocess_name=%(program_name)s_%(process_num)02d\nstartsecs=0"},
				{"slow", "serve", "autostart=false\nstartsecs=60"},
			}, "", "")
			hist := filepath.Join(d.dir, "history")
			conf, err := os.ReadFile(d.conf)
			if err != nil {
				t.Fatal(err)
			}
			conf = []byte(strings.Replace(string(conf), "[supervisorctl]\n", "[supervisorctl]\nhistory_file=%(here)s/history\nprompt=test\n", 1))
			if err := os.WriteFile(d.conf, conf, 0o644); err != nil {
				t.Fatal(err)
			}

			term := startTerminal(t, d.dir, "-c", d.conf)
			term.expect("sleeper                          RUNNING   pid ")
			term.expect("test> ")
			term.send("vers\t")
			term.expect("version ")
			term.send("\r")
			term.expect("4.2.5\r\n")
			term.expect("test> ")
			term.send("st\t\t")
			term.expect("start")
			term.expect("status")
			term.expect("stop")
			term.send("\x15status sle\t")
			term.expect("status sleeper ")
			term.send("\r")
			term.expect("sleeper                          RUNNING")
			term.expect("test> ")
			term.send("stop mu\t")
			term.expect("stop multi:")
			term.send("\x15tail -f sleeper\r")
			term.expect("==> Press Ctrl-C to exit <==\r\n")
			term.expect("hello\r\n")
			term.send("\x03")
			term.expect("test> ")
			term.send("quit\r")
			if code := term.exitCode(); code != 0 {
				t.Errorf("exit status %d, want 0", code)
			}
			data, err := os.ReadFile(hist)
			if err != nil {
				t.Fatalf("history file: %v", err)
			}
			wantHist := "version \nstatus sleeper \ntail -f sleeper\nquit\n"
			if string(data) != wantHist {
				t.Errorf("history file = %q, want %q", data, wantHist)
			}
			if info, err := os.Stat(hist); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("history file mode: %v %v, want 0600", info.Mode(), err)
			}

			// A second session recalls the first one's lines; Ctrl-D ends it.
			term = startTerminal(t, d.dir, "-c", d.conf)
			term.expect("test> ")
			term.send("\x1b[A\x1b[A\x1b[A")
			term.expect("status sleeper")
			term.send("\r")
			term.expect("sleeper                          RUNNING")
			term.expect("test> ")
			term.send("\x04")
			if code := term.exitCode(); code != 0 {
				t.Errorf("exit status %d after Ctrl-D, want 0", code)
			}

			// Ctrl-C during a command that waits (a start with startsecs=60)
			// ends the shell at once, with exit status 0 and the history saved.
			term = startTerminal(t, d.dir, "-c", d.conf)
			term.expect("test> ")
			term.send("start slow\r")
			cl, err := newRPCClient("unix://"+d.sock, "", "")
			if err != nil {
				t.Fatal(err)
			}
			defer cl.close()
			testenv.Eventually(t, 15*time.Second, func() error {
				var info processInfo
				if err := cl.call(context.Background(), "supervisor.getProcessInfo", &info, "slow"); err != nil {
					return err
				}
				if info.StateName != "STARTING" {
					return fmt.Errorf("slow is %s", info.StateName)
				}
				return nil
			})
			term.send("\x03")
			term.expect("^C\r\n")
			if code := term.exitCode(); code != 0 {
				t.Errorf("exit status %d after Ctrl-C, want 0", code)
			}
			if data, err := os.ReadFile(hist); err != nil || !strings.HasSuffix(string(data), "status sleeper \nstart slow\n") {
				t.Errorf("history after Ctrl-C = %q, %v", data, err)
			}
		})
	}
}

// TestShellAsksCredentials: against a protected socket the shell asks
// for a username and a password (not echoed), then runs the command again.
func TestShellAsksCredentials(t *testing.T) {
	for _, kind := range daemons {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			d := startDaemon(t, kind, []program{{"sleeper", "serve", "startsecs=0"}}, "user", "secret")
			term := startTerminal(t, d.dir, "-c", d.conf)
			term.expect("Server requires authentication\r\nUsername:")
			term.send("user\r")
			term.expect("user\r\nPassword:")
			term.send("secret\r")
			term.expect("\r\n\r\nsleeper                          RUNNING   pid ")
			term.expect("supervisor> ")
			if strings.Contains(term.out.String(), "secret") {
				t.Errorf("the password was echoed: %q", term.out.String())
			}
			term.send("\x04")
			if code := term.exitCode(); code != 0 {
				t.Errorf("exit status %d, want 0", code)
			}
		})
	}
}
