package soak

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Kind is the behaviour a program's command and settings give it.
type Kind int

// The kinds of soak programs.
const (
	// Quiet programs sleep and write nothing: RUNNING.
	Quiet Kind = iota
	// Chatty programs write lines on stdout and stderr every second into
	// logs small enough to rotate: RUNNING.
	Chatty
	// LateCrashers exit two seconds after start (past startsecs) and are
	// restarted by autorestart: STARTING/RUNNING/EXITED forever.
	LateCrashers
	// EarlyCrashers exit at once (before startsecs): BACKOFF, then FATAL
	// after startretries.
	EarlyCrashers
)

func (k Kind) String() string {
	return [...]string{"quiet", "chatty", "late-crasher", "early-crasher"}[k]
}

// Group is one [program:x] section with numprocs processes.
type Group struct {
	Name     string
	Kind     Kind
	NumProcs int
	// Command is the command line; "{dir}" stands for the soak directory.
	Command string
	// Extra are further key=value lines of the section.
	Extra []string
}

// Processes returns the namespecs (group:name) of the group's processes.
func (g Group) Processes() []string {
	out := make([]string, g.NumProcs)
	for i := range out {
		out[i] = fmt.Sprintf("%s:%s_%02d", g.Name, g.Name, i)
	}
	return out
}

// Variant is one of the two versions of the include file that reload
// cycles alternate between.
type Variant int

// The two variants of flip.conf.
const (
	VariantA Variant = iota
	VariantB
)

// Other returns the variant a reload switches to.
func (v Variant) Other() Variant { return 1 - v }

func (v Variant) String() string { return [...]string{"A", "B"}[v] }

// Layout is the soak's 200 programs: stable groups in the main file and
// flip groups in an include file whose two variants differ by one added,
// one changed and one removed group.
type Layout struct {
	Stable []Group
	Flip   [2][]Group
}

// NewLayout returns the soak's layout: 60 quiet, 60 chatty, 30 late and
// 30 early crashers in the main file; 20 quiet processes in the flip file.
func NewLayout() Layout {
	var l Layout
	quiet := func(name, command string, n int) Group {
		return Group{Name: name, Kind: Quiet, NumProcs: n, Command: command}
	}
	for i := range 4 {
		l.Stable = append(l.Stable, quiet(fmt.Sprintf("quiet%d", i), "sleep 1000000", 15))
	}
	for i := range 4 {
		l.Stable = append(l.Stable, Group{
			Name: fmt.Sprintf("chatty%d", i), Kind: Chatty, NumProcs: 15,
			Command: "/bin/sh {dir}/chatty.sh %(process_num)d",
			Extra: []string{
				"stopasgroup=true",
				"stdout_logfile_maxbytes=16KB", "stdout_logfile_backups=2",
				"stderr_logfile_maxbytes=4KB", "stderr_logfile_backups=1",
			},
		})
	}
	// Both late groups restart: one on an expected exit with
	// autorestart=true, one on an unexpected exit with autorestart=unexpected.
	l.Stable = append(l.Stable,
		Group{Name: "late0", Kind: LateCrashers, NumProcs: 15,
			Command: "/bin/sh {dir}/late.sh %(process_num)d 0",
			Extra:   []string{"stopasgroup=true", "startsecs=1", "autorestart=true", "exitcodes=0"}},
		Group{Name: "late1", Kind: LateCrashers, NumProcs: 15,
			Command: "/bin/sh {dir}/late.sh %(process_num)d 3",
			Extra:   []string{"stopasgroup=true", "startsecs=1", "autorestart=unexpected", "exitcodes=0"}},
	)
	for i := range 2 {
		l.Stable = append(l.Stable, Group{
			Name: fmt.Sprintf("early%d", i), Kind: EarlyCrashers, NumProcs: 15,
			Command: "/bin/sh {dir}/early.sh %(process_num)d",
			Extra:   []string{"startsecs=1", "startretries=2"},
		})
	}
	l.Flip[VariantA] = []Group{quiet("flipa", "sleep 1000000", 10), quiet("flipc", "sleep 1000001", 10)}
	l.Flip[VariantB] = []Group{quiet("flipb", "sleep 1000000", 10), quiet("flipc", "sleep 1000002", 10)}
	return l
}

// Groups returns the stable groups plus the flip groups of v.
func (l Layout) Groups(v Variant) []Group {
	return append(append([]Group(nil), l.Stable...), l.Flip[v]...)
}

// OfKind returns the namespecs of the stable processes of kind k.
func (l Layout) OfKind(k Kind) []string {
	var out []string
	for _, g := range l.Stable {
		if g.Kind == k {
			out = append(out, g.Processes()...)
		}
	}
	return out
}

// ReloadDiff is what reloadConfig must report when switching from -> to:
// the added, changed and removed group names.
func (l Layout) ReloadDiff(from, to Variant) (added, changed, removed []string) {
	old := map[string]Group{}
	for _, g := range l.Flip[from] {
		old[g.Name] = g
	}
	for _, g := range l.Flip[to] {
		prev, ok := old[g.Name]
		switch {
		case !ok:
			added = append(added, g.Name)
		case prev.Command != g.Command:
			changed = append(changed, g.Name)
		}
		delete(old, g.Name)
	}
	for _, g := range l.Flip[from] {
		if _, ok := old[g.Name]; ok {
			removed = append(removed, g.Name)
		}
	}
	return added, changed, removed
}

// Scripts the chatty and crashing programs run (POSIX sh; only `sleep`
// forks, once a second at most).
const (
	chattyScript = `n=0
while :; do
  n=$((n+1)); i=0
  while [ $i -lt 20 ]; do
    printf 'chatty %s tick %d line %d: the quick brown fox jumps over the lazy dog 0123456789\n' "$1" $n $i
    i=$((i+1))
  done
  i=0
  while [ $i -lt 5 ]; do
    printf 'chatty %s tick %d warning %d: something odd\n' "$1" $n $i >&2
    i=$((i+1))
  done
  sleep 1
done
`
	lateScript = `echo "late $1 up"
sleep 2
echo "late $1 crashing with $2" >&2
exit $2
`
	earlyScript = `echo "early $1 failing" >&2
exit 1
`
)

// Files are the paths of one soak directory.
type Files struct {
	Dir      string
	Conf     string // main config file
	FlipConf string // include file that alternates between variants
	Socket   string
	MainLog  string
}

// NewFiles returns the paths under dir.
func NewFiles(dir string) Files {
	return Files{
		Dir:      dir,
		Conf:     filepath.Join(dir, "supervisord.conf"),
		FlipConf: filepath.Join(dir, "conf.d", "flip.conf"),
		Socket:   filepath.Join(dir, "supervisor.sock"),
		MainLog:  filepath.Join(dir, "supervisord.log"),
	}
}

// WriteAll writes the scripts, the main config and variant v of the
// include file.
func (f Files) WriteAll(l Layout, v Variant) error {
	for _, d := range []string{filepath.Dir(f.FlipConf), filepath.Join(f.Dir, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("soak dir: %w", err)
		}
	}
	scripts := map[string]string{"chatty.sh": chattyScript, "late.sh": lateScript, "early.sh": earlyScript}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(f.Dir, name), []byte(body), 0o644); err != nil {
			return fmt.Errorf("script %s: %w", name, err)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `[supervisord]
nodaemon=true
silent=true
logfile=%s
logfile_maxbytes=0
loglevel=info
pidfile=%s
childlogdir=%s

[unix_http_server]
file=%s

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[include]
files = %s/*.conf
`, f.MainLog, filepath.Join(f.Dir, "supervisord.pid"), filepath.Join(f.Dir, "logs"), f.Socket, filepath.Dir(f.FlipConf))
	f.writeGroups(&b, l.Stable)
	if err := os.WriteFile(f.Conf, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return f.WriteFlip(l, v)
}

// WriteFlip replaces the include file by variant v, atomically so that a
// concurrent reread never sees half a file.
func (f Files) WriteFlip(l Layout, v Variant) error {
	var b strings.Builder
	f.writeGroups(&b, l.Flip[v])
	tmp := f.FlipConf + ".tmp" // not matched by *.conf
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("flip config %s: %w", v, err)
	}
	if err := os.Rename(tmp, f.FlipConf); err != nil {
		return fmt.Errorf("flip config %s: %w", v, err)
	}
	return nil
}

func (f Files) writeGroups(b *strings.Builder, groups []Group) {
	for _, g := range groups {
		fmt.Fprintf(b, "\n[program:%s]\ncommand=%s\nnumprocs=%d\nprocess_name=%%(program_name)s_%%(process_num)02d\n",
			g.Name, strings.ReplaceAll(g.Command, "{dir}", f.Dir), g.NumProcs)
		for _, line := range g.Extra {
			fmt.Fprintln(b, line)
		}
	}
}

// Command returns g's command line as the daemon reports it.
func (f Files) Command(g Group) string { return strings.ReplaceAll(g.Command, "{dir}", f.Dir) }
