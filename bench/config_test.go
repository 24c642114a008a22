package bench

import "testing"

func TestDaemonConfigRender(t *testing.T) {
	cfg := DaemonConfig{Dir: "/tmp/b%1", Programs: []Program{
		{Name: "sleep", Command: "sleep 100000", Settings: []Setting{
			{"numprocs", "2"}, {"process_name", "%(program_name)s_%(process_num)03d"},
		}},
		{Name: "w", Command: "/bin/w write"},
	}}
	want := `[unix_http_server]
file = /tmp/b%%1/supervisor.sock

[supervisord]
logfile = /tmp/b%%1/supervisord.log
pidfile = /tmp/b%%1/supervisord.pid
childlogdir = /tmp/b%%1
nodaemon = true
minfds = 4096

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix:///tmp/b%%1/supervisor.sock

[program:sleep]
command = sleep 100000
numprocs = 2
process_name = %(program_name)s_%(process_num)03d

[program:w]
command = /bin/w write

`
	if got := cfg.Render(); got != want {
		t.Errorf("Render:\n%s\nwant:\n%s", got, want)
	}
	if got, want := cfg.SocketPath(), "/tmp/b%1/supervisor.sock"; got != want {
		t.Errorf("SocketPath = %q, want %q", got, want)
	}
}
