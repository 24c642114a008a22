package orphans

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// The test binary is its own child: ORPHANS_HELPER picks what it does.
func TestMain(m *testing.M) {
	switch os.Getenv("ORPHANS_HELPER") {
	case "":
		testenv.Main(m)
	case "sleep":
		time.Sleep(time.Hour)
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "group":
		// A grandchild in the same process group, then wait.
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "ORPHANS_HELPER=sleep")
		if err := cmd.Start(); err != nil {
			os.Exit(3)
		}
		fmt.Println(cmd.Process.Pid)
		time.Sleep(time.Hour)
	}
	os.Exit(0)
}

// helper starts the test binary in mode, in a process group of its own,
// and returns it once it has printed its first line (if it prints one).
func helper(t *testing.T, mode string, waitLine bool) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "ORPHANS_HELPER="+mode)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	line := ""
	if waitLine {
		buf := make([]byte, 64)
		n, _ := out.Read(buf)
		line = strings.TrimSpace(string(buf[:n]))
	}
	return cmd, line
}

func startTime(t *testing.T, pid int) uint64 {
	t.Helper()
	st, err := readStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	return st.startTime
}

func TestRecorderAndSurvivors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "supervisord.pid"+Suffix)
	a, _ := helper(t, "sleep", false)
	b, _ := helper(t, "sleep", false)
	c, _ := helper(t, "sleep", false)
	r, err := NewRecorder(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, cmd := range []*exec.Cmd{a, b, c} {
		if err := r.Started(cmd.Process.Pid, "g", "p"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	r.Ended(b.Process.Pid)
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v", st, err)
	}
	// c ends (and is reaped) after the file was written.
	_ = c.Process.Kill()
	_ = c.Wait()
	got, err := Survivors(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Child{{PID: a.Process.Pid, StartTime: startTime(t, a.Process.Pid), Group: "g", Name: "p0"}}
	if !slices.Equal(got, want) {
		t.Errorf("Survivors = %+v, want %+v", got, want)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := Survivors(path); err != nil || got != nil {
		t.Errorf("after Close: Survivors = %v, %v; want none", got, err)
	}
}

// writeState writes a state file by hand: the writer line, then children.
func writeState(t *testing.T, path string, writer identity, children ...Child) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s\ndaemon %d %d %s %s\n", header, writer.pid, writer.startTime, writer.boot, writer.pidNS)
	for _, c := range children {
		fmt.Fprintf(&b, "child %d %d %q %q\n", c.PID, c.StartTime, c.Group, c.Name)
	}
	_ = os.Remove(path)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSurvivorsRefusesWhatIsNotAnOrphan(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s"+Suffix)
	self, err := selfIdentity()
	if err != nil {
		t.Fatal(err)
	}
	live, _ := helper(t, "sleep", false)
	pid := live.Process.Pid
	child := Child{PID: pid, StartTime: startTime(t, pid), Group: "g", Name: "n"}
	writerGone := identity{pid: 999999, startTime: 1, boot: self.boot, pidNS: self.pidNS}

	writeState(t, path, writerGone, child)
	if got, err := Survivors(path); err != nil || len(got) != 1 {
		t.Fatalf("control: Survivors = %v, %v; want the live child", got, err)
	}
	tests := []struct {
		name   string
		writer identity
		child  Child
	}{
		{"recycled pid (other start time)", writerGone, Child{PID: pid, StartTime: child.StartTime + 1, Group: "g", Name: "n"}},
		{"another boot", identity{pid: 999999, startTime: 1, boot: "0000", pidNS: self.pidNS}, child},
		{"another pid namespace", identity{pid: 999999, startTime: 1, boot: self.boot, pidNS: "pid:[1]"}, child},
		{"writer still running", identity{pid: pid, startTime: child.StartTime, boot: self.boot, pidNS: self.pidNS}, child},
	}
	for _, tt := range tests {
		writeState(t, path, tt.writer, tt.child)
		if got, err := Survivors(path); err != nil || got != nil {
			t.Errorf("%s: Survivors = %v, %v; want none", tt.name, got, err)
		}
	}

	// Files another user could have written are refused.
	writeState(t, path, writerGone, child)
	if err := os.Chmod(path, 0o622); err != nil {
		t.Fatal(err)
	}
	if _, err := Survivors(path); err == nil || !strings.Contains(err.Error(), "others may write it") {
		t.Errorf("mode 0622: error %v", err)
	}
	if os.Geteuid() == 0 {
		writeState(t, path, writerGone, child)
		if err := os.Chown(path, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, err := Survivors(path); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
			t.Errorf("owned by nobody: error %v", err)
		}
	}
	writeState(t, path, writerGone, child)
	if err := os.Link(path, path+".2"); err != nil {
		t.Fatal(err)
	}
	if _, err := Survivors(path); err == nil || !strings.Contains(err.Error(), "2 hard links") {
		t.Errorf("two links: error %v", err)
	}
	for _, text := range []string{"", "other 1\n", header + "\n", header + "\nchild 1 2 \"g\" \"n\"\ndaemon 5 6 b n\n", header + "\ndaemon x 6 b n\n"} {
		_ = os.Remove(path + ".2")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Survivors(path); err == nil {
			t.Errorf("%q: no error", text)
		}
	}
}

func TestStop(t *testing.T) {
	polite, _ := helper(t, "sleep", false)
	stubborn, _ := helper(t, "ignore-term", true)
	leader, grandchild := helper(t, "group", true)
	innocent, _ := helper(t, "sleep", false)
	gpid, err := strconv.Atoi(grandchild)
	if err != nil {
		t.Fatalf("grandchild pid %q", grandchild)
	}
	// The programs that obey SIGTERM get a long wait, which they end by
	// exiting (a loaded machine may take well over the 300 ms the
	// stubborn one gets before its SIGKILL).
	target := func(cmd *exec.Cmd, name string, wait time.Duration) Target {
		pid := cmd.Process.Pid
		return Target{Child: Child{PID: pid, StartTime: startTime(t, pid), Group: name, Name: name}, Signal: syscall.SIGTERM, Wait: wait}
	}
	recycled := target(innocent, "recycled", 20*time.Second)
	recycled.StartTime++
	group := target(leader, "group", 20*time.Second)
	group.StopAsGroup, group.KillAsGroup = true, true
	got := map[string]Outcome{}
	var order []string
	Stop([][]Target{{target(polite, "polite", 20*time.Second), target(stubborn, "stubborn", 300*time.Millisecond), recycled}, {group}}, func(tg Target, o Outcome, err error) {
		if err != nil {
			t.Errorf("%s: %v", tg.Name, err)
		}
		got[tg.Name] = o
		order = append(order, tg.Name)
	})
	want := map[string]Outcome{"polite": Stopped, "stubborn": Killed, "recycled": Gone, "group": Stopped}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: outcome %d, want %d", k, got[k], v)
		}
	}
	if order[len(order)-1] != "group" {
		t.Errorf("order %v: the second wave must come last", order)
	}
	// The innocent process took no signal; the group's grandchild went.
	if err := syscall.Kill(innocent.Process.Pid, 0); err != nil || zombie(innocent.Process.Pid) {
		t.Errorf("the process holding a recycled pid was signalled: %v", err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if !zombie(gpid) {
			return fmt.Errorf("grandchild %d still running", gpid)
		}
		return nil
	})
}
