package ctl

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"gosupervisor/internal/testenv"
)

// goldenCase is one supervisorctl invocation compared between the stock
// client and ours. setup runs (through our client, output ignored) before
// each of the two runs, to put the daemon in the same state.
type goldenCase struct {
	args  string // split on spaces; CONF and DIR are substituted
	setup []string
	stdin string
}

func expandArgs(s string, d *daemon) []string {
	s = strings.ReplaceAll(s, "CONF", d.conf)
	s = strings.ReplaceAll(s, "DIR", d.dir)
	return strings.Fields(s)
}

func runGolden(t *testing.T, d *daemon, cases []goldenCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.args, func(t *testing.T) {
			prepare := func() {
				for _, s := range tc.setup {
					runOurs(t, d.dir, "", "-c", d.conf, s)
				}
				d.waitSettled(t)
			}
			args := append([]string{"-c", d.conf}, expandArgs(tc.args, d)...)
			if strings.HasPrefix(tc.args, "-") {
				args = expandArgs(tc.args, d)
			}
			prepare()
			want := runPython(t, d.dir, tc.stdin, args...)
			prepare()
			got := runOurs(t, d.dir, tc.stdin, args...)
			compareOutcomes(t, want, got)
		})
	}
}

// sessionCommands do not change the daemon's state. They run as one
// interactive session fed through a pipe (one Python start-up instead of
// one per command); exitCodeCases run one-shot to compare exit statuses.
var sessionCommands = []string{
	"help", "help add", "help avail", "help clear", "help exit", "help fg", "help maintail", "help open",
	"help pid", "help quit", "help reload", "help remove", "help reread", "help restart", "help shutdown",
	"help signal", "help start", "help status", "help stop", "help tail", "help update", "help version",
	"help foo", "help help", "help EOF", "help  status ", "help status x", "maintail", "maintail -200",
	"?", "?restart", "foo bar", "STATUS", "!ls", "status,x", "",
	"version", "version x", "avail", "avail x", "reread", "reread x",
	"pid", "pid all", "pid manual", "pid sleeper nosuch manual", "pid nosuch:*",
	"tail sleeper", "tail sleeper stderr", "tail sleeper STDERR", "tail -5 sleeper", "tail --3 sleeper",
	"tail -1_0 sleeper", "tail", "tail -x sleeper", "tail sleeper foo", "tail a b c d", "tail a b c",
	"tail -f", "tail -f a b c", "tail nosuch", "tail -2 multi:multi_01",
	"maintail x", "maintail -x", "maintail -f x", "maintail a b",
	"start", "start nosuch", "start grp:nosuch", "start nosuch:*", "start sleeper",
	"status", "status all", "status nosuch", "status grp:*", "status grp:", "status nosuch:*",
	"status sleeper manual nosuch", "status failer", "status multi:multi_00 sleeper",
	"signal", "signal HUP", "signal HUP manual", "signal FOO sleeper", "signal HUP nosuch:*",
	"signal HUP nosuch", "clear", "clear nosuch",
	"update nosuch", "add nosuch", "add sleeper", "add", "remove sleeper", "remove nosuch", "remove",
	"open ftp://x", "open", "open unix://DIR/sock",
	"shutdown x", "reload x", "fg", "fg a b", "fg nosuch", "fg manual",
	"stop", "restart", "stop nosuch", "stop manual", "stop nosuch:*", "stop grp:nosuch", "restart nosuch",
	"quit",
}

// exitCodeCases cover each exit-status path one-shot, plus the command
// line options.
var exitCodeCases = []goldenCase{
	{args: "status"}, {args: "status nosuch"}, {args: "status nosuch sleeper"}, {args: "status sleeper"},
	{args: "foo bar"}, {args: "pid manual"}, {args: "tail -x sleeper"}, {args: "start"}, {args: "start nosuch"},
	{args: "start nosuch:*"}, {args: "start sleeper"}, {args: "stop manual"}, {args: "signal HUP manual"},
	{args: "maintail -100"}, {args: "EOF"},
	// Command-line options.
	{args: "-h"}, {args: "--he"}, {args: "-x"}, {args: "-c CONF -s foo status"}, {args: "--s=x"},
	{args: "-c /nonexistent status"}, {args: "-c CONF -i -i status"}, {args: "-c"},
	{args: "-ic CONF version"}, {args: "-c DIR/nosection.conf status"},
	// The interactive shell reading from a pipe.
	{args: "-c CONF", stdin: "shutdown\nn\nreload\nno\nquit\n"},
	{args: "-c CONF -i", stdin: "pid manual\n"},
}

// stateCases change the daemon; their setup restores the starting state.
var stateCases = []goldenCase{
	{args: "start manual", setup: []string{"stop manual"}},
	{args: "start manual grp:*", setup: []string{"stop manual grp:*"}},
	{args: "start grp:manual2 grp:", setup: []string{"stop grp:*"}},
	{args: "stop manual grp:*", setup: []string{"start manual grp:*"}},
	{args: "stop grp:*", setup: []string{"start grp:manual2"}},
	{args: "restart sleeper", setup: []string{"start sleeper"}},
	{args: "restart manual nosuch grp:manual2", setup: []string{"stop manual", "start grp:manual2"}},
	{args: "signal HUP grp:*", setup: []string{"stop grp:*", "start grp:manual2"}},
	{args: "signal USR1 sleeper manual", setup: []string{"stop manual"}},
	{args: "clear sleeper", setup: []string{"start sleeper"}},
	{args: "tail manual", setup: []string{"stop manual", "clear manual"}},
	{args: "start failer"},
	{args: "pid all", setup: []string{"start multi:*"}},
	{args: "remove manual", setup: []string{"add manual", "stop manual"}},
	{args: "add manual", setup: []string{"stop manual", "remove manual"}},
	{args: "status manual", setup: []string{"stop manual", "remove manual"}},
	{args: "avail", setup: []string{"stop manual", "remove manual"}},
	{args: "update", setup: []string{"stop manual", "remove manual"}},
	{args: "update manual nosuch", setup: []string{"stop manual", "remove manual"}},
}

func TestGolden(t *testing.T) {
	for _, kind := range daemons {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			d := startDaemon(t, kind, standardPrograms, "", "")
			if err := os.WriteFile(filepath.Join(d.dir, "nosection.conf"), []byte("[supervisord]\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Run("session", func(t *testing.T) {
				stdin := strings.ReplaceAll(strings.Join(sessionCommands, "\n")+"\n", "DIR", d.dir)
				want := runPython(t, d.dir, stdin, "-c", d.conf)
				got := runOurs(t, d.dir, stdin, "-c", d.conf)
				compareOutcomes(t, want, got)
			})
			runGolden(t, d, exitCodeCases)
		})
	}
}

// TestGoldenState runs the cases that change the daemon, on a daemon of
// their own so that they run beside TestGolden.
func TestGoldenState(t *testing.T) {
	for _, kind := range daemons {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			runGolden(t, startDaemon(t, kind, standardPrograms, "", ""), stateCases)
		})
	}
}

// TestGoldenReread compares reread and update after the config file
// changed: a group added, one changed, one removed.
func TestGoldenReread(t *testing.T) {
	for _, kind := range daemons {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			before := []program{
				{"keep", "serve", "startsecs=0"},
				{"changed", "serve", "startsecs=0"},
				{"gone", "serve", "startsecs=0"},
			}
			after := []program{
				{"keep", "serve", "startsecs=0"},
				{"changed", "serve", "startsecs=0\nstopwaitsecs=3"},
				{"newprog", "serve", "startsecs=0"},
			}
			d := startDaemon(t, kind, before, "", "")
			reset := func() {
				writeConfig(t, d.dir, before, "")
				runOurs(t, d.dir, "", "-c", d.conf, "update")
				writeConfig(t, d.dir, after, "")
			}
			for _, args := range []string{"reread", "update changed nosuch", "update", "avail"} {
				t.Run(args, func(t *testing.T) {
					reset()
					want := runPython(t, d.dir, "", append([]string{"-c", d.conf}, strings.Fields(args)...)...)
					reset()
					got := runOurs(t, d.dir, "", append([]string{"-c", d.conf}, strings.Fields(args)...)...)
					compareOutcomes(t, want, got)
				})
			}
		})
	}
}

// TestGoldenAuth compares the 401 paths against a password-protected
// socket.
func TestGoldenAuth(t *testing.T) {
	for _, kind := range daemons {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			d := startDaemon(t, kind, []program{{"sleeper", "serve", "startsecs=0"}}, "user", "pass")
			runGolden(t, d, []goldenCase{
				{args: "status"}, {args: "avail"}, {args: "tail -f sleeper"},
				{args: "-c CONF -u user -p pass status"}, {args: "-c CONF -u user -p bad status"},
			})
		})
	}
}

// TestGoldenShutdown compares shutdown, which ends the daemon: each
// client gets a daemon of its own.
func TestGoldenShutdown(t *testing.T) {
	for _, kind := range daemons {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			progs := []program{{"sleeper", "serve", "startsecs=0"}}
			d1 := startDaemon(t, kind, progs, "", "")
			want := runPython(t, d1.dir, "", "-c", d1.conf, "shutdown")
			d2 := startDaemon(t, kind, progs, "", "")
			got := runOurs(t, d2.dir, "", "-c", d2.conf, "shutdown")
			compareOutcomes(t, want, got)
			for _, d := range []*daemon{d1, d2} {
				<-d.d.Exited
			}
			// The socket is gone (or dead) now: compare what each client says.
			for _, args := range []string{"shutdown", "status", "version", "avail"} {
				want := runPython(t, d1.dir, "", "-c", d1.conf, args)
				got := runOurs(t, d2.dir, "", "-c", d2.conf, args)
				want.stdout = strings.ReplaceAll(want.stdout, d1.dir, "DIR")
				got.stdout = strings.ReplaceAll(got.stdout, d2.dir, "DIR")
				compareOutcomes(t, want, got)
			}
		})
	}
}

// TestGoldenReload compares reload (the daemon restarts in place).
func TestGoldenReload(t *testing.T) {
	for _, kind := range daemons {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			d := startDaemon(t, kind, []program{{"sleeper", "serve", "startsecs=0"}}, "", "")
			want := runPython(t, d.dir, "", "-c", d.conf, "reload")
			d.waitSettled(t)
			got := runOurs(t, d.dir, "", "-c", d.conf, "reload")
			d.waitSettled(t)
			compareOutcomes(t, want, got)
		})
	}
}

// TestGoldenUnreachable compares the messages for servers that are not
// there: a missing socket file, a socket nobody listens on, a closed TCP
// port and an unsupported scheme.
func TestGoldenUnreachable(t *testing.T) {
	testenv.RequireReference(t)
	t.Parallel()
	dir := t.TempDir()
	dead := filepath.Join(dir, "deadsock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: dead}); err != nil {
		t.Fatal(err)
	}
	nosock, deadsock := "unix://"+filepath.Join(dir, "nosock"), "unix://"+dead
	cases := [][]string{
		{"-s", nosock, "status"}, {"-s", nosock, "version"}, {"-s", nosock, "avail"}, {"-s", nosock, "add", "x"},
		{"-s", nosock, "shutdown"}, {"-s", nosock, "tail", "-f", "x"}, {"-s", nosock, "help"},
		{"-s", deadsock, "status"}, {"-s", deadsock, "avail"}, {"-s", deadsock, "shutdown"},
		{"-s", "http://127.0.0.1:1", "status"}, {"-s", "http://127.0.0.1:1", "avail"},
		{"-s", "http://127.0.0.1:1", "shutdown"}, {"-s", "https://x", "status"},
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			compareOutcomes(t, runPython(t, dir, "", args...), runOurs(t, dir, "", args...))
		})
	}
}
