package config

import (
	"fmt"
	"maps"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// keyChoices are candidate values per key for generated configs: valid
// ones, edge cases, and ones the reference rejects.
var (
	programKeys = map[string][]string{
		"command":                 {"/bin/x", "/bin/x %(program_name)s", "/bin/x %(process_num)d %(numprocs)d", "/bin/x %(ENV_SUPTEST_A)s %(group_name)s", "/bin/x 100%%", "!/bin/x %(bad)s", "sh -c 'a ; b'", "/bin/x %(ENV_LOCAL)s", "/bin/x %(host_node_name)s"},
		"numprocs":                {"1", "1", "1", "1", "2", "0", "٢", "+1", "0_1", "!x", "!1__0", "%(ENV_SUPTEST_WS)s"},
		"numprocs_start":          {"0", "1", "-2", "!x", "٣", "-٣", "!_1", "!- 1"},
		"process_name":            {"%(program_name)s", "%(program_name)s_%(process_num)d", "p%(process_num)02d", "!bad name", "%(group_name)s-%(process_num)x"},
		"priority":                {"1", "-1", "999", "!x", "%(ENV_SUPTEST_NUM)s", "5", "٥", "３", "𝟗", "+1_0", "%(ENV_SUPTEST_WS)s", "!1_", "!²", "!%(here)d", "!%(here"},
		"autostart":               {"true", "no", "!maybe", "ON"},
		"autorestart":             {"true", "false", "unexpected", "!bogus"},
		"startsecs":               {"0", "5", "!1.5", "٥", "0_0", "!٥.٥"},
		"startretries":            {"0", "3", "!x", "٣", "+3", "%(ENV_SUPTEST_UNI)s"},
		"exitcodes":               {"0", "0,2", "", "!256", " 1 , 3", "٠,٣", " ٢ , 1_0", "!٣٠٠"},
		"stopsignal":              {"TERM", "kill", "9", "!99", "sigusr1", "٩", "+15", "!bogus", "!%(ENV_SUPTEST_UNI)s"},
		"stopwaitsecs":            {"10", "0", "!x", "١٠", "1_0", "!1 0"},
		"stopasgroup":             {"true", "false"},
		"killasgroup":             {"true", "false", "!x"},
		"redirect_stderr":         {"true", "false"},
		"stdout_logfile":          {"AUTO", "NONE", "/tmp/o.log", "syslog", "%(here)s/%(program_name)s.log", "!/nonexistent/x.log", "rel.log", "/tmp/%(process_num)d.log"},
		"stderr_logfile":          {"AUTO", "off", "/tmp/e.log", "!SYSLOG"},
		"stdout_logfile_maxbytes": {"0", "1KB", "!x", "50MB", "٣KB", "1_0MB", "!1__0MB"},
		"stderr_logfile_backups":  {"0", "5", "!x", "٣", "-1", "!٣x"},
		"stdout_capture_maxbytes": {"0", "1MB", "!1.5", "١KB", "+1_024"},
		"stderr_events_enabled":   {"true", "false", "!x"},
		"stdout_syslog":           {"true", "false"},
		"environment":             {"A=1", `A=1,B="x,y"`, "A=%(ENV_SUPTEST_A)s", "!A=", "X=%(process_num)d", "LOCAL=loc,P=/usr/bin", "A=a b"},
		"directory":               {"/tmp", "%(here)s", "!/nonexistent", "%(ENV_HOME)s", ""},
		"umask":                   {"022", "0o7", "!8", "٠٢٢", "0o_22", "!٨"},
		"user":                    {"root", "nobody", "!nosuch_user_x", "0", "٠", "+0"},
		"serverurl":               {"AUTO", "http://x:1", "", " auto "},
	}
	supervisordKeys = map[string][]string{
		"logfile":          {"/tmp/s.log", "%(here)s/s.log", "syslog", "!/nonexistent/s.log", "rel.log"},
		"loglevel":         {"info", "DEBUG", "!warning", "blather"},
		"environment":      {"G=1", `G="%(ENV_SUPTEST_A)s"`, "LOCAL=fromsup", "!G=%(host_node_name)s", "P=100%%%%", ""},
		"identifier":       {"id", "%(here)s", "%(ENV_SUPTEST_SPACE)s", ""},
		"nodaemon":         {"true", "false", "!x"},
		"minfds":           {"1024", "!x", "١٠٢٤", "1_024", "!1024.0"},
		"minprocs":         {"200", "٢٠٠", "!2e2"},
		"logfile_backups":  {"10", "٣", "!x"},
		"directory":        {"/tmp", "%(here)s", "!/nonexistent", "!"},
		"umask":            {"022", "!9"},
		"childlogdir":      {"/tmp", "!/nonexistent", "%(here)s", "!"},
		"pidfile":          {"/tmp/s.pid", "%(here)s/s.pid"},
		"strip_ansi":       {"true", "off"},
		"logfile_maxbytes": {"1GB", "0", "!1.5KB"},
		"user":             {"root", "!nosuch_user_x", "!"},
	}
	listenerKeys = map[string][]string{
		"command":     {"/bin/l"},
		"events":      {"TICK_5", "PROCESS_STATE,tick_60", "!", "!BOGUS", "TICK_5,TICK_5"},
		"buffer_size": {"10", "!0", "!x", "٣", "1_0", "!-٣"},
		"priority":    {"-1", "3"},
	}
	fcgiKeys = map[string][]string{
		"command":        {"/bin/f"},
		"socket":         {"tcp://127.0.0.1:9000", "unix:///tmp/f.sock", "!unix://rel.sock", "!bad", "unix:///tmp/%(program_name)s.sock", "!tcp://h:0", "tcp://127.0.0.1:٩٠٠٠", "tcp://LocalHost:09000", "!tcp://h\u00a0x:90", "!tcp://h:9_000"},
		"socket_mode":    {"0600", "!x"},
		"socket_owner":   {"root", "root:root", "!nosuch_user_x"},
		"socket_backlog": {"5", "!0", "٥", "1_0", "!x"},
	}
	rpcKeys = map[string][]string{
		"supervisor.rpcinterface_factory": {"supervisor.rpcinterface:make_main_rpcinterface"},
		"retries":                         {"3"},
		"x":                               {"%(here)s", "!%(nosuch)s"},
	}
	serverKeys = map[string][]string{
		"port":     {"9001", "127.0.0.1:9001", "!x", "!h:", "٩٠٠١", "127.0.0.1:9_001", "!9__001"},
		"file":     {"/tmp/s.sock", "%(here)s/s.sock", "~/s.sock"},
		"chmod":    {"0700", "!x"},
		"chown":    {"root", "root:root", "!nosuch_user_x"},
		"username": {"u"},
		"password": {"p", "{SHA}abc"},
	}
)

// generator writes configs from the tables above. One config in four is
// hostile: mistakes are frequent there, so that configs with several of
// them test which error is reported first.
type generator struct {
	r *rand.Rand
	// badOdds: a value marked "!" is chosen once in badOdds draws.
	badOdds int
	// mistakes counts what the current config got wrong on purpose.
	mistakes int
}

// pick chooses a value; values marked "!" (rejected by the reference) are
// rare unless the config is hostile.
func (g *generator) pick(values []string) string {
	var good, bad []string
	for _, v := range values {
		if strings.HasPrefix(v, "!") {
			bad = append(bad, v[1:])
		} else {
			good = append(good, v)
		}
	}
	if len(bad) > 0 && (len(good) == 0 || g.r.Intn(g.badOdds) == 0) {
		g.mistakes++
		return bad[g.r.Intn(len(bad))]
	}
	return good[g.r.Intn(len(good))]
}

// rarely is true once in odds draws, more often in a hostile config; a
// true answer is a mistake.
func (g *generator) rarely(odds int) bool {
	if g.r.Intn(g.badOdds/odds+1) == 0 {
		g.mistakes++
		return true
	}
	return false
}

// section writes a section with a random subset of keys, in random key
// spelling and delimiter style.
func (g *generator) section(b *strings.Builder, header string, keys map[string][]string, required ...string) {
	r := g.r
	fmt.Fprintf(b, "[%s]\n", header)
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		isRequired := slices.Contains(required, k)
		if !isRequired && r.Intn(4) != 0 {
			continue
		}
		if isRequired && g.rarely(2) {
			continue // drop a required key
		}
		v := g.pick(keys[k])
		name := k
		if r.Intn(8) == 0 {
			name = strings.ToUpper(k)
		}
		delim := []string{"=", " = ", ": ", "\t=\t"}[r.Intn(4)]
		comment := ""
		if r.Intn(6) == 0 {
			comment = " ; note"
		}
		fmt.Fprintf(b, "%s%s%s%s\n", name, delim, v, comment)
	}
}

// config writes one config and says how many mistakes it planted.
func (g *generator) config() (string, int) {
	r := g.r
	var b strings.Builder
	g.badOdds, g.mistakes = 80, 0
	if r.Intn(4) == 0 {
		g.badOdds = 3
	}
	if r.Intn(25) != 0 {
		g.section(&b, "supervisord", supervisordKeys)
	}
	programs := []string{"alpha", "beta", "gamma"}[:1+r.Intn(3)]
	if g.rarely(2) {
		// An invalid name, or one the reference strips.
		programs = append(programs, []string{"a b", "x:y", "p/q", " padded"}[r.Intn(4)])
	}
	for _, p := range programs {
		g.section(&b, "program:"+p, programKeys, "command")
	}
	switch r.Intn(6) {
	case 0, 1:
		members := []string{}
		for _, p := range programs {
			if r.Intn(2) == 0 {
				members = append(members, p)
			}
		}
		if g.rarely(4) {
			members = append(members, "unknown")
		}
		fmt.Fprintf(&b, "[group:grp]\nprograms=%s\n", strings.Join(members, ","))
	case 2:
		// A group named like a program: without programs= it is empty
		// and the daemon runs it instead of the program; with programs=
		// it takes its members over (and the program, if not a member,
		// is still hidden by it).
		fmt.Fprintf(&b, "[group:%s]\n", programs[r.Intn(len(programs))])
		if r.Intn(2) == 0 {
			fmt.Fprintf(&b, "programs=%s\n", programs[r.Intn(len(programs))])
		}
		if r.Intn(3) == 0 {
			fmt.Fprintf(&b, "priority=%s\n", g.pick(programKeys["priority"]))
		}
	}
	if r.Intn(3) == 0 {
		g.section(&b, "eventlistener:lis", listenerKeys, "command", "events")
	}
	if r.Intn(4) == 0 {
		g.section(&b, "fcgi-program:fcg", fcgiKeys, "command", "socket")
	}
	if r.Intn(3) == 0 {
		g.section(&b, "unix_http_server", serverKeys, "file")
	}
	if r.Intn(3) == 0 {
		g.section(&b, "inet_http_server", serverKeys, "port")
	}
	if r.Intn(2) == 0 {
		g.section(&b, "rpcinterface:supervisor", rpcKeys, "supervisor.rpcinterface_factory")
	}
	if r.Intn(3) == 0 {
		fmt.Fprintf(&b, "[supervisorctl]\nserverurl=unix://%%(here)s/s.sock\n")
	}
	return b.String(), g.mistakes
}

// TestGeneratedConfigsMatchReference loads a few hundred generated
// configs with the reference and with Load/LoadCtl.
func TestGeneratedConfigsMatchReference(t *testing.T) {
	dir := t.TempDir()
	g := &generator{r: rand.New(rand.NewSource(5))}
	var files []string
	mistakes := map[string]int{}
	for i := 0; i < 500; i++ {
		path := filepath.Join(dir, fmt.Sprintf("gen%03d.conf", i))
		text, n := g.config()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
		mistakes[path] = n
	}
	env := corpusEnv(t)
	cwd := t.TempDir()
	results := runReference(t, env, cwd, files)
	opts := Options{Env: env, Hostname: refHostname, Cwd: cwd}
	accepted := 0
	classes := map[string]int{}
	for _, ref := range results {
		var got any
		text, _ := os.ReadFile(ref.Path)
		if cfg, err := Load(ref.Path, opts); err != nil {
			got = normalize(t, map[string]any{"error": err.Error()})
			if mistakes[ref.Path] >= 2 {
				classes["rejected with several mistakes"]++
			}
		} else {
			accepted++
			got = normalize(t, dumpServer(cfg))
			for class, ok := range valueClasses(string(text), cfg) {
				if ok {
					classes[class]++
				}
			}
		}
		if want := normalize(t, ref.Server); !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs\n--- config\n%s--- ours\n%s\n--- reference\n%s", filepath.Base(ref.Path), text, jsonText(t, got), jsonText(t, want))
		}
	}
	t.Logf("%d of %d generated configs accepted by both", accepted, len(files))
	if accepted < 20 {
		t.Errorf("only %d of %d generated configs were accepted; the generator is too hostile", accepted, len(files))
	}
	// Each class of value must be met, or the generator lost it.
	for _, class := range slices.Sorted(maps.Keys(valueClasses("", nil))) {
		t.Logf("%4d %s", classes[class], class)
		if classes[class] < 3 {
			t.Errorf("only %d configs of class %q", classes[class], class)
		}
	}
	t.Logf("%4d %s", classes["rejected with several mistakes"], "rejected with several mistakes")
	if classes["rejected with several mistakes"] < 20 {
		t.Errorf("only %d rejected configs with several mistakes", classes["rejected with several mistakes"])
	}
}

var (
	separatedDigitsRE = regexp.MustCompile(`\d_\d`)
	signedIntRE       = regexp.MustCompile(`[=:]\s*[+-]\d`)
)

// valueClasses says which of the edge cases an accepted config holds
// (keys only for a nil cfg).
func valueClasses(text string, cfg *Config) map[string]bool {
	classes := map[string]bool{
		"accepted: non-ASCII digits":           strings.ContainsFunc(text, func(r rune) bool { _, d := pyDecimal(r); return d }),
		"accepted: _ between digits":           separatedDigitsRE.MatchString(text),
		"accepted: signed integers":            signedIntRE.MatchString(text),
		"accepted: whitespace in integers":     strings.Contains(text, "SUPTEST_WS") || strings.Contains(text, " , "),
		"accepted: group named like a program": false,
		"accepted: empty directory=":           false,
		"accepted: rpcinterface extras":        false,
	}
	if cfg == nil {
		return classes
	}
	seen := map[string]bool{}
	for _, g := range cfg.Groups {
		if seen[g.Name] {
			classes["accepted: group named like a program"] = true
		}
		seen[g.Name] = true
		for _, p := range g.Processes {
			if p.DirectorySet && p.Directory == "" {
				classes["accepted: empty directory="] = true
			}
		}
	}
	for _, ri := range cfg.RPCInterfaces {
		if len(ri.Extras) > 0 {
			classes["accepted: rpcinterface extras"] = true
		}
	}
	return classes
}
