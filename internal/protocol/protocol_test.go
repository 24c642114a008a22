package protocol

import (
	"testing"
)

func TestProcessStateNames(t *testing.T) {
	want := map[ProcessState]string{
		0: "STOPPED", 10: "STARTING", 20: "RUNNING", 30: "BACKOFF",
		40: "STOPPING", 100: "EXITED", 200: "FATAL", 1000: "UNKNOWN", 7: "UNKNOWN",
	}
	for s, name := range want {
		if got := s.String(); got != name {
			t.Errorf("ProcessState(%d).String() = %q, want %q", int(s), got, name)
		}
	}
	if len(ProcessStates) != 8 {
		t.Errorf("ProcessStates has %d states, want 8", len(ProcessStates))
	}
}

func TestProcessStateClasses(t *testing.T) {
	tests := []struct {
		state                               ProcessState
		wantStopped, wantRunning, wantSignl bool
	}{
		{StateStopped, true, false, false},
		{StateStarting, false, true, true},
		{StateRunning, false, true, true},
		{StateBackoff, false, true, false},
		{StateStopping, false, false, true},
		{StateExited, true, false, false},
		{StateFatal, true, false, false},
		{StateUnknown, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.state.String(), func(t *testing.T) {
			if got := tt.state.IsStopped(); got != tt.wantStopped {
				t.Errorf("IsStopped = %v, want %v", got, tt.wantStopped)
			}
			if got := tt.state.IsRunning(); got != tt.wantRunning {
				t.Errorf("IsRunning = %v, want %v", got, tt.wantRunning)
			}
			if got := tt.state.IsSignallable(); got != tt.wantSignl {
				t.Errorf("IsSignallable = %v, want %v", got, tt.wantSignl)
			}
		})
	}
}

func TestSupervisorStateNames(t *testing.T) {
	want := map[SupervisorState]string{2: "FATAL", 1: "RUNNING", 0: "RESTARTING", -1: "SHUTDOWN"}
	for s, name := range want {
		if got := s.String(); got != name {
			t.Errorf("SupervisorState(%d).String() = %q, want %q", int(s), got, name)
		}
	}
}

func TestFaultStrings(t *testing.T) {
	tests := []struct {
		code      FaultCode
		extra     string
		wantName  string
		wantFault string
	}{
		{FaultBadName, "foo", "BAD_NAME", "BAD_NAME: foo"},
		{FaultShutdownState, "", "SHUTDOWN_STATE", "SHUTDOWN_STATE"},
		{FaultCantReread, "x: y", "CANT_REREAD", "CANT_REREAD: x: y"},
		{FaultSuccess, "", "SUCCESS", "SUCCESS"},
		{FaultCode(99), "z", "FAULT_99", "FAULT_99: z"},
	}
	for _, tt := range tests {
		if got := tt.code.String(); got != tt.wantName {
			t.Errorf("FaultCode(%d).String() = %q, want %q", int(tt.code), got, tt.wantName)
		}
		if got := FaultString(tt.code, tt.extra); got != tt.wantFault {
			t.Errorf("FaultString(%d, %q) = %q, want %q", int(tt.code), tt.extra, got, tt.wantFault)
		}
	}
}

func TestLevels(t *testing.T) {
	tests := []struct {
		in       string
		want     Level
		wantOK   bool
		wantCode string
	}{
		{"critical", LevelCritical, true, "CRIT"},
		{"ERROR", LevelError, true, "ERRO"},
		{"Warn", LevelWarn, true, "WARN"},
		{"info", LevelInfo, true, "INFO"},
		{"debug", LevelDebug, true, "DEBG"},
		{"trace", LevelTrace, true, "TRAC"},
		{"blather", LevelBlather, true, "BLAT"},
		{"warning", 0, false, ""},
		{"", 0, false, ""},
		{"info ", 0, false, ""},
		// Python's str.lower() turns U+0130 into "i" plus a combining dot.
		{"\u0130nfo", 0, false, ""},
	}
	for _, tt := range tests {
		got, ok := ParseLevel(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseLevel(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.wantOK)
			continue
		}
		if ok && got.String() != tt.wantCode {
			t.Errorf("%s.String() = %q, want %q", tt.in, got.String(), tt.wantCode)
		}
	}
	if got := Level(7).String(); got != "LEVEL7" {
		t.Errorf("Level(7).String() = %q, want LEVEL7", got)
	}
	if got := LevelInfo.Name(); got != "info" {
		t.Errorf("LevelInfo.Name() = %q, want info", got)
	}
}
