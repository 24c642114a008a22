package config

import (
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestNotifyKeys(t *testing.T) {
	defaultHealth := HealthCheck{IntervalSecs: 10, TimeoutSecs: 5, Retries: 3}
	stockNotify := Notify{ReadyTimeoutSecs: 90, WatchdogSignal: syscall.SIGABRT}
	tests := []struct {
		name       string
		keys       string
		wantNotify Notify
		wantHealth HealthCheck
		wantErr    string
	}{
		{name: "none", wantNotify: stockNotify, wantHealth: defaultHealth},
		{
			name:       "notify implies main",
			keys:       "notify=yes",
			wantNotify: Notify{Ready: true, Access: NotifyMain, ReadyTimeoutSecs: 90, WatchdogSignal: syscall.SIGABRT},
			wantHealth: defaultHealth,
		},
		{
			name:       "watchdog implies main",
			keys:       "watchdog_secs=5\nwatchdog_signal=KILL",
			wantNotify: Notify{Access: NotifyMain, ReadyTimeoutSecs: 90, WatchdogSecs: 5, WatchdogSignal: syscall.SIGKILL},
			wantHealth: defaultHealth,
		},
		{
			name:       "access given",
			keys:       "notify=true\nnotify_access=ALL\nready_timeout_secs=0",
			wantNotify: Notify{Ready: true, Access: NotifyAll, WatchdogSignal: syscall.SIGABRT},
			wantHealth: defaultHealth,
		},
		{
			name:       "access alone makes a socket",
			keys:       "notify_access=exec",
			wantNotify: Notify{Access: NotifyExec, ReadyTimeoutSecs: 90, WatchdogSignal: syscall.SIGABRT},
			wantHealth: defaultHealth,
		},
		{
			name:       "none refuses even with notify",
			keys:       "notify=1\nnotify_access=none",
			wantNotify: Notify{Ready: true, ReadyTimeoutSecs: 90, WatchdogSignal: syscall.SIGABRT},
			wantHealth: defaultHealth,
		},
		{
			name:       "exec check expands",
			keys:       "healthcheck_exec=/bin/check --port 80%(process_num)02d\nhealthcheck_action=none\nhealthcheck_retries=1",
			wantNotify: stockNotify,
			wantHealth: HealthCheck{Kind: HealthExec, Command: "/bin/check --port 8000", Argv: []string{"/bin/check", "--port", "8000"}, IntervalSecs: 10, TimeoutSecs: 5, Retries: 1, Action: HealthReport},
		},
		{
			name:       "http check",
			keys:       "healthcheck_http=http://127.0.0.1:8080/healthz\nhealthcheck_interval_secs=2\nhealthcheck_timeout_secs=1\nhealthcheck_start_period_secs=30",
			wantNotify: stockNotify,
			wantHealth: HealthCheck{Kind: HealthHTTP, URL: "http://127.0.0.1:8080/healthz", IntervalSecs: 2, TimeoutSecs: 1, Retries: 3, StartPeriodSecs: 30},
		},
		{
			name:       "tcp check",
			keys:       "healthcheck_tcp=[::1]:6379",
			wantNotify: stockNotify,
			wantHealth: HealthCheck{Kind: HealthTCP, Address: "[::1]:6379", IntervalSecs: 10, TimeoutSecs: 5, Retries: 3},
		},
		{name: "two kinds", keys: "healthcheck_tcp=localhost:1\nhealthcheck_http=http://localhost/", wantErr: "only one of healthcheck_exec, healthcheck_http and healthcheck_tcp may be set"},
		{name: "bad access", keys: "notify_access=some", wantErr: `value "some" is not one of none, main, exec, all`},
		{name: "bad bool", keys: "notify=maybe", wantErr: "not a valid boolean value: 'maybe'"},
		{name: "negative timeout", keys: "ready_timeout_secs=-1", wantErr: "value -1 is less than 0"},
		{name: "zero interval", keys: "healthcheck_interval_secs=0", wantErr: "value 0 is less than 1"},
		{name: "bad signal", keys: "watchdog_signal=NOPE", wantErr: "value 'NOPE' is not a valid signal name"},
		{name: "bad url", keys: "healthcheck_http=ftp://x/", wantErr: `healthcheck_http "ftp://x/" is not an http:// or https:// URL with a host`},
		{name: "bad port", keys: "healthcheck_tcp=localhost:0", wantErr: `healthcheck_tcp "localhost:0": bad port`},
		{name: "no port", keys: "healthcheck_tcp=localhost", wantErr: "healthcheck_tcp: address localhost: missing port in address"},
		{name: "unsplittable", keys: "healthcheck_exec=/bin/x 'open", wantErr: `can't parse healthcheck_exec "/bin/x 'open": No closing quotation`},
		{name: "bad action", keys: "healthcheck_action=reboot", wantErr: `value "reboot" is not one of restart, none`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "[supervisord]\n[program:p]\ncommand=/bin/p\n" + tt.keys + "\n"
			cfg, err := loadText(t, text, processKeys())
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr+" in section 'program:p'") {
					t.Fatalf("error %v, want %q in section 'program:p'", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := cfg.Groups[0].Processes[0]
			if p.Notify != tt.wantNotify {
				t.Errorf("Notify = %+v, want %+v", p.Notify, tt.wantNotify)
			}
			if !reflect.DeepEqual(p.Health, tt.wantHealth) {
				t.Errorf("Health = %+v, want %+v", p.Health, tt.wantHealth)
			}
			if got := p.Notify.Socket(); got != (tt.wantNotify.Access != NotifyNone || tt.wantNotify.Ready || tt.wantNotify.WatchdogSecs > 0) {
				t.Errorf("Socket() = %v", got)
			}
		})
	}
}

// A program without the new keys keeps Extensions nil (stock clients see
// nothing new), and one with them lists them as written.
func TestNotifyKeysAreExtensions(t *testing.T) {
	cfg := mustLoadText(t, "[supervisord]\nnotify_dir=~/n\n[program:a]\ncommand=/bin/a\n[program:b]\ncommand=/bin/b\nnotify=true\nhealthcheck_tcp=127.0.0.1:%(process_num)d9\n", processKeys())
	if got := cfg.Groups[0].Processes[0].Extensions; got != nil {
		t.Errorf("a: Extensions = %v, want nil", got)
	}
	if got, want := cfg.Groups[1].Processes[0].Extensions, map[string]string{"notify": "true", "healthcheck_tcp": "127.0.0.1:09"}; !reflect.DeepEqual(got, want) {
		t.Errorf("b: Extensions = %v, want %v", got, want)
	}
	if got, want := cfg.Supervisord.NotifyDir, cfg.Here+"/n"; got != want {
		t.Errorf("NotifyDir = %q, want %q", got, want)
	}
	if got := mustLoadText(t, "[supervisord]\n[program:a]\ncommand=/bin/a\n", processKeys()).Supervisord.NotifyDir; got != "" {
		t.Errorf("NotifyDir without the key = %q, want \"\"", got)
	}
}

// The reference ignores the keys, so its own errors come first.
func TestNotifyKeyErrorsAfterReferenceErrors(t *testing.T) {
	_, err := loadText(t, "[supervisord]\n[program:a]\ncommand=/bin/a\nnotify=maybe\n[program:b]\ncommand=/bin/b\nstartretries=x\n", processKeys())
	if err == nil || !strings.Contains(err.Error(), "'x' in section 'program:b'") {
		t.Fatalf("error %v, want the startretries error of program:b", err)
	}
}
