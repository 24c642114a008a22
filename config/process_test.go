package config

import (
	"slices"
	"testing"

	"gosupervisor/internal/protocol"
)

func TestProcessEnvironment(t *testing.T) {
	kv := func(pairs ...string) []EnvVar {
		var out []EnvVar
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, EnvVar{Key: pairs[i], Value: pairs[i+1]})
		}
		return out
	}
	tests := []struct {
		name        string
		global, own []EnvVar
		nilConfig   bool
		want        []EnvVar
	}{
		{name: "none", want: nil},
		{name: "global only", global: kv("A", "1", "B", "2"), want: kv("A", "1", "B", "2")},
		{name: "program wins, keeps the first position", global: kv("A", "1", "B", "2"), own: kv("C", "3", "A", "x"),
			want: kv("A", "x", "B", "2", "C", "3")},
		{name: "repeated key, last value", own: kv("A", "1", "A", "2"), want: kv("A", "2")},
		{name: "no config", nilConfig: true, own: kv("A", "1"), want: kv("A", "1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Config{Supervisord: Supervisord{Environment: tt.global}}
			if tt.nilConfig {
				c = nil
			}
			if got := c.ProcessEnvironment(&Process{Environment: tt.own}); !slices.Equal(got, tt.want) {
				t.Errorf("ProcessEnvironment = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestProcessLog(t *testing.T) {
	p := &Process{Stdout: LogConfig{File: "/o"}, Stderr: LogConfig{File: "/e"}}
	if p.Log(protocol.Stdout).File != "/o" || p.Log(protocol.Stderr).File != "/e" {
		t.Errorf("Log: %+v %+v", p.Log(protocol.Stdout), p.Log(protocol.Stderr))
	}
}
