package config

import (
	"reflect"
	"syscall"
	"testing"
)

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{"0", 0, ""},
		{"1024", 1024, ""},
		{"1KB", 1024, ""},
		{"5mb", 5 << 20, ""},
		{"2Gb", 2 << 30, ""},
		{" 10 MB", 10 << 20, ""},
		{"10b", 0, "invalid literal for int() with base 10: '10b'"},
		{"1.5MB", 0, "invalid literal for int() with base 10: '1.5'"},
		{"10K", 0, "invalid literal for int() with base 10: '10k'"},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseByteSize(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseSignalAndName(t *testing.T) {
	tests := []struct {
		in      string
		want    syscall.Signal
		name    string
		wantErr string
	}{
		{"TERM", syscall.SIGTERM, "SIGTERM", ""},
		{"sigkill", syscall.SIGKILL, "SIGKILL", ""},
		{" hup ", syscall.SIGHUP, "SIGHUP", ""},
		{"9", syscall.SIGKILL, "SIGKILL", ""},
		{"IOT", syscall.SIGABRT, "SIGABRT", ""},
		{"SIGRTMIN", 34, "SIGRTMIN", ""},
		{"99", 0, "", "value '99' is not a valid signal number"},
		{"RTMIN+1", 0, "", "value 'RTMIN+1' is not a valid signal name"},
	}
	for _, tt := range tests {
		got, err := ParseSignal(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseSignal(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
		if n := SignalName(got); n != tt.name {
			t.Errorf("SignalName(%d) = %q, want %q", got, n, tt.name)
		}
	}
	if got := SignalName(40); got != "signal 40" {
		t.Errorf("SignalName(40) = %q", got)
	}
}

func TestParseBoolAutorestartExitCodes(t *testing.T) {
	for _, in := range []string{"yes", "TRUE", "on", "1"} {
		if v, err := ParseBool(in); err != nil || !v {
			t.Errorf("ParseBool(%q) = %v, %v", in, v, err)
		}
	}
	for _, in := range []string{"no", "False", "OFF", "0"} {
		if v, err := ParseBool(in); err != nil || v {
			t.Errorf("ParseBool(%q) = %v, %v", in, v, err)
		}
	}
	if _, err := ParseBool("maybe"); err == nil || err.Error() != "not a valid boolean value: 'maybe'" {
		t.Errorf("ParseBool(maybe) error = %v", err)
	}
	autorestart := map[string]Autorestart{"true": AutorestartTrue, "Unexpected": AutorestartUnexpected, "off": AutorestartFalse}
	for in, want := range autorestart {
		if got, err := ParseAutorestart(in); err != nil || got != want {
			t.Errorf("ParseAutorestart(%q) = %v, %v", in, got, err)
		}
	}
	codes := map[string][]int{"0": {0}, "0, 2,3": {0, 2, 3}, "": {}}
	for in, want := range codes {
		if got, err := ParseExitCodes(in); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseExitCodes(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseExitCodes("256"); err == nil {
		t.Error("ParseExitCodes(256) accepted")
	}
}

func TestParseKeyValuePairs(t *testing.T) {
	tests := []struct {
		in      string
		want    []EnvVar
		wantErr string
	}{
		{"A=1,B=2", []EnvVar{{"A", "1"}, {"B", "2"}}, ""},
		{`A="x,y",B='z'`, []EnvVar{{"A", "x,y"}, {"B", "z"}}, ""},
		{"A=a b", []EnvVar{{"A", "a"}}, ""},   // separator token unchecked
		{"X=$HOME", []EnvVar{{"X", "$"}}, ""}, // "$" is not a word character
		{"A=1,A=2,B=3", []EnvVar{{"A", "2"}, {"B", "3"}}, ""},
		{"P=/usr/bin:/bin", []EnvVar{{"P", "/usr/bin:/bin"}}, ""},
		{`E=""`, []EnvVar{{"E", ""}}, ""},
		{"A=", nil, "Unexpected end of key/value pairs in value 'A='"},
		{"A=1,B", nil, "Unexpected end of key/value pairs in value 'A=1,B'"},
		{`A="open`, nil, "No closing quotation"},
	}
	for _, tt := range tests {
		got, err := ParseKeyValuePairs(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseKeyValuePairs(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseKeyValuePairs(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"/bin/echo a  b", []string{"/bin/echo", "a", "b"}, ""},
		{`sh -c "echo \"hi\" $X"`, []string{"sh", "-c", `echo "hi" $X`}, ""},
		{`a\ b 'c d' ""`, []string{"a b", "c d", ""}, ""},
		{`"a\x"`, []string{`a\x`}, ""},
		{`x # y`, []string{"x", "#", "y"}, ""},
		{`'open`, nil, "No closing quotation"},
		{`end\`, nil, "No escaped character"},
	}
	for _, tt := range tests {
		got, err := SplitCommand(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("SplitCommand(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestExpand(t *testing.T) {
	exp := expansions{"here": "/etc", "program_name": "web", "process_num": 3}
	tests := []struct {
		in, want, wantErr string
	}{
		{"%(here)s/x", "/etc/x", ""},
		{"%(program_name)s_%(process_num)02d", "web_03", ""},
		{"100%%", "100%", ""},
		{"%(process_num)x|%(program_name)-5s|", "3|web  |", ""},
		{"%(nope)s", "", "Format string '%(nope)s' for 'program:web.command' contains names ('nope') which cannot be expanded. Available names: here, process_num, program_name"},
		{"50%", "", "Format string '50%' for 'program:web.command' is badly formatted: incomplete format"},
		{"%(here)d", "", "Format string '%(here)d' for 'program:web.command' is badly formatted: %d format: a real number is required, not str"},
	}
	for _, tt := range tests {
		got, err := expand(tt.in, exp, "program:web.command")
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("expand(%q) error = %v\nwant %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestInetAddress(t *testing.T) {
	tests := []struct {
		in      string
		host    string
		port    int
		wantErr string
	}{
		{"9001", "", 9001, ""},
		{"127.0.0.1:9001", "127.0.0.1", 9001, ""},
		{"*:80", "", 80, ""},
		{":80", "", 80, ""},
		{"LocalHost:80", "localhost", 80, ""},
		{"localhost:", "", 0, "no port number specified in ''"},
		{"h:70000", "", 0, "70000 is above upper bound (65535)"},
		{"abc", "", 0, "not a valid port number: 'abc' "},
	}
	for _, tt := range tests {
		host, port, err := InetAddress(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("InetAddress(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || host != tt.host || port != tt.port {
			t.Errorf("InetAddress(%q) = %q, %d, %v", tt.in, host, port, err)
		}
	}
}
