package protocol

import (
	"testing"
	"time"
)

func TestDescribe(t *testing.T) {
	stop := time.Date(2026, 11, 30, 2, 17, 0, 0, time.Local)
	rows := []struct {
		name            string
		state           ProcessState
		pid             int
		start, now, stp int64
		spawnErr        string
		want            string
	}{
		{"running", StateRunning, 123, 1000, 1005, 0, "", "pid 123, uptime 0:00:05"},
		{"running a day", StateRunning, 9, 0, 86400 + 3723, 0, "", "pid 9, uptime 1 day, 1:02:03"},
		{"running days", StateRunning, 9, 0, 2*86400 + 5, 0, "", "pid 9, uptime 2 days, 0:00:05"},
		{"clock went back", StateRunning, 9, 100, 50, 0, "", "pid 9, uptime 0:00:00"},
		{"never started", StateStopped, 0, 0, 5, 0, "", "Not started"},
		{"stopped", StateStopped, 0, 1, 5, stop.Unix(), "", "Nov 30 02:17 AM"},
		{"exited", StateExited, 0, 1, 5, stop.Add(12 * time.Hour).Unix(), "", "Nov 30 02:17 PM"},
		{"fatal", StateFatal, 0, 1, 5, 2, "Exited too quickly (process log may have details)", "Exited too quickly (process log may have details)"},
		{"backoff without spawnerr", StateBackoff, 0, 1, 5, 2, "", `unknown error (try "tail x")`},
		{"starting", StateStarting, 5, 1, 5, 0, "", ""},
		{"stopping", StateStopping, 5, 1, 5, 0, "", ""},
	}
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			if got := Describe(tt.state, "x", tt.pid, tt.spawnErr, tt.start, tt.stp, tt.now); got != tt.want {
				t.Errorf("Describe = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestChannels(t *testing.T) {
	for _, c := range Channels {
		got, ok := ParseChannel(c.String())
		if !ok || got != c {
			t.Errorf("ParseChannel(%q) = %v, %v; want %v, true", c.String(), got, ok, c)
		}
	}
	if _, ok := ParseChannel("stdin"); ok {
		t.Error(`ParseChannel("stdin") succeeded`)
	}
	if Stdout.String() != "stdout" || Stderr.String() != "stderr" {
		t.Errorf("names: %q %q", Stdout, Stderr)
	}
}

func TestAppendRunning(t *testing.T) {
	got := string(AppendRunning([]byte("x:"), 42, 100, 100+86400+61))
	if want := "x:pid 42, uptime 1 day, 0:01:01"; got != want {
		t.Errorf("AppendRunning = %q, want %q", got, want)
	}
	if n := testing.AllocsPerRun(100, func() { _ = AppendRunning(make([]byte, 0, 64), 42, 0, 5) }); n > 1 {
		t.Errorf("AppendRunning allocates %v times, want only the caller's buffer", n)
	}
}
