package bench

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

func TestParseStatCPU(t *testing.T) {
	// Fields after the command: state ppid pgrp session tty tpgid flags
	// minflt cminflt majflt cmajflt utime stime cutime cstime ...
	tail := " S 1 1 1 0 -1 4194560 100 0 0 0 %s 0 0 20 0 1 0 97256 3133440 387"
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		{name: "plain", stat: "42 (supervisord)" + strings.Replace(tail, "%s", "250 37", 1), want: 2870 * time.Millisecond},
		{name: "children not counted", stat: "42 (x)" + strings.Replace(tail, "%s 0 0", "1 2 900 900", 1), want: 30 * time.Millisecond},
		{name: "command with spaces and parens", stat: "7 (a) b (c))" + strings.Replace(tail, "%s", "100 100", 1), want: 2 * time.Second},
		{name: "no command", stat: "7 a S 1", wantErr: true},
		{name: "too few fields", stat: "7 (a) S 1 1 1", wantErr: true},
		{name: "not a number", stat: "42 (x)" + strings.Replace(tail, "%s", "1x 2", 1), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatCPU([]byte(tt.stat))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseStatusMemory(t *testing.T) {
	tests := []struct {
		name             string
		status           string
		wantRSS, wantHWM int64
		wantErr          bool
	}{
		{name: "both", status: "Name:\tx\nVmPeak:\t 9 kB\nVmHWM:\t    2172 kB\nVmRSS:\t    2000 kB\nThreads:\t1\n", wantRSS: 2000 * 1024, wantHWM: 2172 * 1024},
		{name: "kernel thread has none", status: "Name:\tkthreadd\nThreads:\t1\n", wantErr: true},
		{name: "rss missing", status: "VmHWM:\t1 kB\n", wantErr: true},
		{name: "unexpected unit", status: "VmHWM:\t1 MB\nVmRSS:\t1 kB\n", wantErr: true},
		{name: "not a number", status: "VmHWM:\tx kB\nVmRSS:\t1 kB\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rss, hwm, err := ParseStatusMemory([]byte(tt.status))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if rss != tt.wantRSS || hwm != tt.wantHWM {
				t.Errorf("got rss %d hwm %d, want %d %d", rss, hwm, tt.wantRSS, tt.wantHWM)
			}
		})
	}
}

func TestReadUsageSelf(t *testing.T) {
	u, err := ReadUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.RSS < 1<<20 || u.HWM < u.RSS || u.CPU < 0 {
		t.Errorf("implausible usage of the test process: %+v", u)
	}
	if _, err := ReadUsage(-1); err == nil {
		t.Error("ReadUsage(-1) succeeded")
	}
}

func TestIsZombieAndStartTime(t *testing.T) {
	// The test binary with no test to run exits at once; until we wait
	// for it, it is a zombie.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if _, err := procStartTime(pid); err != nil {
		t.Errorf("procStartTime(%d): %v", pid, err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if !isZombie(pid) {
			return fmt.Errorf("pid %d not a zombie yet", pid)
		}
		return nil
	})
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if isZombie(os.Getpid()) || isZombie(pid) {
		t.Error("isZombie true for a live or reaped process")
	}
	if _, err := procStartTime(pid); err == nil {
		t.Error("procStartTime of a reaped process succeeded")
	}
}

func TestParseSwitches(t *testing.T) {
	tests := []struct {
		status  string
		want    int64
		wantErr bool
	}{
		{status: "Name:\tx\nvoluntary_ctxt_switches:\t12\nnonvoluntary_ctxt_switches:\t3\n", want: 15},
		{status: "voluntary_ctxt_switches:\t12\n", wantErr: true},
		{status: "voluntary_ctxt_switches:\tx\nnonvoluntary_ctxt_switches:\t3\n", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseSwitches([]byte(tt.status))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseSwitches(%q) = %d, %v; want %d, error %v", tt.status, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestReadWakeupsAndChildren(t *testing.T) {
	// A sleeping child wakes up no more once it sleeps; we are its parent.
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := cmd.Process.Pid
	testenv.Eventually(t, 10*time.Second, func() error {
		kids, err := childrenOf(os.Getpid())
		if err != nil {
			return err
		}
		for _, k := range kids {
			if k.pid == pid {
				if st, _ := procStartTime(pid); st != k.start {
					return fmt.Errorf("start time %d, want %d", k.start, st)
				}
				return nil
			}
		}
		return fmt.Errorf("pid %d not among our children %v", pid, kids)
	})
	testenv.Eventually(t, 10*time.Second, func() error {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if f, err := statFields(pid); err != nil || string(comm) != "sleep\n" || f[0] != "S" {
			return fmt.Errorf("pid %d is %q, not asleep yet (%v)", pid, comm, err)
		}
		return nil
	})
	w0, err := ReadWakeups(pid)
	if err != nil || w0 <= 0 {
		t.Fatalf("ReadWakeups = %d, %v", w0, err)
	}
	time.Sleep(200 * time.Millisecond) // a window in which nothing should happen
	if w1, err := ReadWakeups(pid); err != nil || w1 != w0 {
		t.Errorf("a sleeping process woke up: %d → %d (%v)", w0, w1, err)
	}
	if kids, err := childrenOf(pid); err != nil || len(kids) != 0 {
		t.Errorf("sleep has children %v, %v", kids, err)
	}
}
