package bench

import (
	"cmp"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Setting is one key = value line of a config section.
type Setting struct{ Key, Value string }

// Program is one [program:x] section. Settings are written in order after
// command; anything unset keeps Supervisor's default.
type Program struct {
	Name     string
	Command  string
	Settings []Setting
}

// DaemonConfig describes a supervisord.conf confined to Dir: the unix
// socket, main log, pid file and AUTO child logs all live there.
type DaemonConfig struct {
	Dir      string
	Programs []Program
	// MinFDs is supervisord's minfds (0 = 4096, enough for 500 programs
	// of about five descriptors each).
	MinFDs int
	// ReadyTimeout bounds exec to the socket answering (0 =
	// defaultReadyTimeout): the reference answers only after its first
	// loop pass has spawned every autostart program.
	ReadyTimeout time.Duration
	// CallTimeout bounds one RPC call (0 = rpcTimeout): the reference's
	// getAllProcessInfo grows with the square of the programs.
	CallTimeout time.Duration
}

// SocketPath is where the daemon's unix XML-RPC socket will be.
func (c DaemonConfig) SocketPath() string { return filepath.Join(c.Dir, "supervisor.sock") }

// MainLogPath is the daemon's main log file.
func (c DaemonConfig) MainLogPath() string { return filepath.Join(c.Dir, "supervisord.log") }

// ConfPath is where Write puts the config file.
func (c DaemonConfig) ConfPath() string { return filepath.Join(c.Dir, "supervisord.conf") }

// Render returns the config text. It is the same file for both daemons,
// since ours is a drop-in replacement.
func (c DaemonConfig) Render() string {
	var b strings.Builder
	section := func(name string, kv ...Setting) {
		fmt.Fprintf(&b, "[%s]\n", name)
		for _, s := range kv {
			fmt.Fprintf(&b, "%s = %s\n", s.Key, escapePercent(s.Value))
		}
		b.WriteString("\n")
	}
	section("unix_http_server", Setting{"file", c.SocketPath()})
	section("supervisord",
		Setting{"logfile", c.MainLogPath()},
		Setting{"pidfile", filepath.Join(c.Dir, "supervisord.pid")},
		Setting{"childlogdir", c.Dir},
		Setting{"nodaemon", "true"},
		Setting{"minfds", strconv.Itoa(cmp.Or(c.MinFDs, 4096))},
	)
	section("rpcinterface:supervisor",
		Setting{"supervisor.rpcinterface_factory", "supervisor.rpcinterface:make_main_rpcinterface"})
	section("supervisorctl", Setting{"serverurl", "unix://" + c.SocketPath()})
	for _, p := range c.Programs {
		kv := append([]Setting{{"command", p.Command}}, p.Settings...)
		// Settings carry their own %(...)s expansions; only the fixed
		// paths above needed escaping.
		fmt.Fprintf(&b, "[program:%s]\n", p.Name)
		for _, s := range kv {
			fmt.Fprintf(&b, "%s = %s\n", s.Key, s.Value)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// escapePercent doubles '%' so a temp path cannot start an expansion.
func escapePercent(s string) string { return strings.ReplaceAll(s, "%", "%%") }
