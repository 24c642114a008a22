package ctl

import (
	"strings"
	"testing"
	"time"
)

func TestParseTopArgs(t *testing.T) {
	tests := []struct {
		args      string
		wantCount int
		wantDelay time.Duration
		wantNames string
		wantErr   string
	}{
		{"", 0, 2 * time.Second, "", ""},
		{"-n 1", 1, 2 * time.Second, "", ""},
		{"-d 0.5 web g:*", 0, 500 * time.Millisecond, "web g:*", ""},
		{"web -n 3 -d 10", 3, 10 * time.Second, "web", ""},
		{"-n", 0, 0, "", "-n needs a value"},
		{"-n 0", 0, 0, "", "bad count 0"},
		{"-d 0", 0, 0, "", "bad delay 0"},
		{"-d x", 0, 0, "", "bad delay x"},
	}
	for _, tt := range tests {
		count, delay, names, err := parseTopArgs(strings.Fields(tt.args))
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%q: error %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || count != tt.wantCount || delay != tt.wantDelay || strings.Join(names, " ") != tt.wantNames {
			t.Errorf("%q: %d %v %q %v", tt.args, count, delay, names, err)
		}
	}
}

func TestFormatTop(t *testing.T) {
	rows := []processResources{
		{Name: "web_0", Group: "web", PID: 4242, StateName: "RUNNING", Processes: 3, CPUSeconds: 3723.456, CPUPercent: 12.34, RSSKB: 65536, RSSLimitKB: 512 << 10, CgroupKB: 70000},
		{Name: "cron", Group: "cron", StateName: "STOPPED", CPUPercent: -1, CgroupKB: -1},
		{Name: "new", Group: "new", PID: 7, StateName: "STARTING", Processes: 1, CPUSeconds: 0.05, CPUPercent: -1, RSSKB: 900, CgroupKB: -1},
	}
	want := "" +
		"NAME      STATE         PID PROCS   CPU%    CPU TIME       RSS RSS LIMIT    CGROUP\n" +
		"web:web_0 RUNNING      4242     3   12.3  1:02:03.46     64.0M    512.0M     68.4M\n" +
		"cron      STOPPED         -     -      -           -         -         -         -\n" +
		"new       STARTING        7     1      -  0:00:00.05      900K         -         -\n"
	if got := formatTop(rows); got != want {
		t.Errorf("formatTop:\n%s\nwant\n%s", got, want)
	}
	shown, bad := selectResources(rows, []string{"web:*", "nosuch", "cron"})
	if len(shown) != 2 || shown[0].Name != "web_0" || shown[1].Name != "cron" || strings.Join(bad, ",") != "nosuch" {
		t.Errorf("selectResources: %v %v", shown, bad)
	}
}
