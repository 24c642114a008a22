package procfs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		line string
		want Proc
		ok   bool
	}{
		{"123 (sh) S 1 123 123 0 -1 4194304 100 0 0 0 7 3 2 1 20 0 1 0 500 1000 250 18446744073709551615\n",
			Proc{PID: 123, PPID: 1, PGRP: 123, CPUTicks: 7 + 3 + 2 + 1, RSSPages: 250}, true},
		// comm with spaces and parentheses.
		{"77 (a) b (c)) R 5 77 77 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 9 100 9 0\n",
			Proc{PID: 77, PPID: 5, PGRP: 77, CPUTicks: 2, RSSPages: 9}, true},
		{"77 (short) R 5 77\n", Proc{}, false},
		{"x (y) R 5 77 77 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 9 100 9 0\n", Proc{}, false},
	}
	for _, tt := range tests {
		got, ok := parseStat([]byte(tt.line))
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

// TestTree measures a real tree: a shell whose child and grandchild each
// hold 32 MiB resident; the tree's RSS counts all three and its CPU
// grows, while a process outside the tree is not counted.
func TestTree(t *testing.T) {
	const script = `python3 -c 'import os,sys,time
b = bytearray(32<<20)
for i in range(0, len(b), 4096): b[i] = 1
if sys.argv[1] == "1":
    if os.fork() == 0:
        os.execvp("python3", ["python3", "-c", open("/proc/self/cmdline").read().split("\0")[2], "0"])
print("ready", flush=True)
time.sleep(60)' 1`
	cmd := exec.Command("/bin/sh", "-c", script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	r := bufio.NewReader(out)
	for range 2 {
		line, err := r.ReadString('\n')
		if err != nil || line != "ready\n" {
			t.Fatalf("tree: %q, %v", line, err)
		}
	}
	go io.Copy(io.Discard, r)
	var u Usage
	deadline := time.Now().Add(10 * time.Second)
	for {
		tab, err := Scan("/proc")
		if err != nil {
			t.Fatal(err)
		}
		u = tab.Tree(cmd.Process.Pid)
		if u.Processes == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if u.Processes != 3 {
		t.Fatalf("tree of %d has %d processes, want sh, python and its child", cmd.Process.Pid, u.Processes)
	}
	if u.RSS < 64<<20 || u.RSS > 256<<20 {
		t.Errorf("tree RSS %d MiB, want the two 32 MiB buffers and the interpreters (64-256 MiB)", u.RSS>>20)
	}
	if u.CPU <= 0 {
		t.Errorf("tree CPU %v, want > 0 (two interpreters started and touched 64 MiB)", u.CPU)
	}
	self, _ := Scan("/proc")
	if own := self.Tree(os.Getpid()); own.Processes < 4 {
		t.Errorf("this test's own tree has %d processes, want itself and the three", own.Processes)
	}
	if none := self.Tree(1 << 30); none.Processes != 0 || none.RSS != 0 {
		t.Errorf("a pid that does not exist: %+v", none)
	}
	statm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/statm", cmd.Process.Pid))
	pages, _ := strconv.ParseUint(strings.Fields(string(statm))[1], 10, 64)
	if sh := self.procs[cmd.Process.Pid]; sh.RSSPages == 0 || (sh.RSSPages != pages && sh.RSSPages > 2*pages) {
		t.Errorf("sh's RSS from stat %d pages, statm resident %d", sh.RSSPages, pages)
	}
}

// BenchmarkScan is the cost of one scan of this machine's /proc.
func BenchmarkScan(b *testing.B) {
	n := 0
	for b.Loop() {
		tab, err := Scan("/proc")
		if err != nil {
			b.Fatal(err)
		}
		n = tab.Len()
	}
	b.ReportMetric(float64(n), "procs")
}

func TestParseMountinfo(t *testing.T) {
	text := `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 22 0:30 / /mnt/my\040disk rw - xfs /dev/vdb\0401 rw
38 25 0:33 /sub /mnt/bind rw - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:7 master:2 - cgroup2 cgroup2 rw,nsdelegate
42 1 0:1 / /short - tmpfs
garbage line
43 1 0:1 / /odd\04 rw - tmpfs x\9 rw
`
	want := []Mount{
		{Root: "/", Point: "/", Type: "ext4", Source: "/dev/vda", SuperOptions: "rw"},
		{Root: "/", Point: "/mnt/my disk", Type: "xfs", Source: "/dev/vdb 1", SuperOptions: "rw"},
		{Root: "/sub", Point: "/mnt/bind", Type: "cgroup", Source: "cgroup", SuperOptions: "rw,pids"},
		{Root: "/", Point: "/sys/fs/cgroup/unified", Type: "cgroup2", Source: "cgroup2", SuperOptions: "rw,nsdelegate"},
		{Root: "/", Point: `/odd\04`, Type: "tmpfs", Source: `x\9`, SuperOptions: "rw"},
	}
	if got := ParseMountinfo(text); !slices.Equal(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

// TestStat reads this test's own process: its parent and process group
// as the kernel reports them; a pid that cannot exist reads as gone.
func TestStat(t *testing.T) {
	p, ok := Stat(os.Getpid())
	if !ok || p.PID != os.Getpid() || p.PPID != os.Getppid() || p.PGRP != syscall.Getpgrp() {
		t.Errorf("Stat(self) = %+v, %v; want pid %d ppid %d pgrp %d", p, ok, os.Getpid(), os.Getppid(), syscall.Getpgrp())
	}
	if p, ok := Stat(1 << 30); ok {
		t.Errorf("Stat(1<<30) = %+v, true", p)
	}
}
