package config

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// keyChoices are candidate values per key for generated configs: valid
// ones, edge cases, and ones the reference rejects.
var (
	programKeys = map[string][]string{
		"command":                 {"/bin/x", "/bin/x %(program_name)s", "/bin/x %(process_num)d %(numprocs)d", "/bin/x %(ENV_SUPTEST_A)s %(group_name)s", "/bin/x 100%%", "!/bin/x %(bad)s", "sh -c 'a ; b'", "/bin/x %(ENV_LOCAL)s", "/bin/x %(host_node_name)s"},
		"numprocs":                {"1", "2", "0", "!x", "3"},
		"numprocs_start":          {"0", "1", "-2", "!x"},
		"process_name":            {"%(program_name)s", "%(program_name)s_%(process_num)d", "p%(process_num)02d", "!bad name", "%(group_name)s-%(process_num)x"},
		"priority":                {"1", "-1", "999", "!x", "%(ENV_SUPTEST_NUM)s", "5"},
		"autostart":               {"true", "no", "!maybe", "ON"},
		"autorestart":             {"true", "false", "unexpected", "!bogus"},
		"startsecs":               {"0", "5", "!1.5"},
		"startretries":            {"0", "3", "!x"},
		"exitcodes":               {"0", "0,2", "", "!256", " 1 , 3"},
		"stopsignal":              {"TERM", "kill", "9", "!99", "sigusr1"},
		"stopwaitsecs":            {"10", "0", "!x"},
		"stopasgroup":             {"true", "false"},
		"killasgroup":             {"true", "false", "!x"},
		"redirect_stderr":         {"true", "false"},
		"stdout_logfile":          {"AUTO", "NONE", "/tmp/o.log", "syslog", "%(here)s/%(program_name)s.log", "!/nonexistent/x.log", "rel.log", "/tmp/%(process_num)d.log"},
		"stderr_logfile":          {"AUTO", "off", "/tmp/e.log", "!SYSLOG"},
		"stdout_logfile_maxbytes": {"0", "1KB", "!x", "50MB"},
		"stderr_logfile_backups":  {"0", "5", "!x"},
		"stdout_capture_maxbytes": {"0", "1MB", "!1.5"},
		"stderr_events_enabled":   {"true", "false", "!x"},
		"stdout_syslog":           {"true", "false"},
		"environment":             {"A=1", `A=1,B="x,y"`, "A=%(ENV_SUPTEST_A)s", "!A=", "X=%(process_num)d", "LOCAL=loc,P=/usr/bin", "A=a b"},
		"directory":               {"/tmp", "%(here)s", "!/nonexistent", "%(ENV_HOME)s", ""},
		"umask":                   {"022", "0o7", "!8"},
		"user":                    {"root", "nobody", "!nosuch_user_x", "0"},
		"serverurl":               {"AUTO", "http://x:1", "", " auto "},
	}
	supervisordKeys = map[string][]string{
		"logfile":          {"/tmp/s.log", "%(here)s/s.log", "syslog", "!/nonexistent/s.log", "rel.log"},
		"loglevel":         {"info", "DEBUG", "!warning", "blather"},
		"environment":      {"G=1", `G="%(ENV_SUPTEST_A)s"`, "LOCAL=fromsup", "!G=%(host_node_name)s", "P=100%%%%", ""},
		"identifier":       {"id", "%(here)s", "%(ENV_SUPTEST_SPACE)s", ""},
		"nodaemon":         {"true", "false", "!x"},
		"minfds":           {"1024", "!x"},
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
		"buffer_size": {"10", "!0", "!x"},
		"priority":    {"-1", "3"},
	}
	fcgiKeys = map[string][]string{
		"command":        {"/bin/f"},
		"socket":         {"tcp://127.0.0.1:9000", "unix:///tmp/f.sock", "!unix://rel.sock", "!bad", "unix:///tmp/%(program_name)s.sock", "!tcp://h:0"},
		"socket_mode":    {"0600", "!x"},
		"socket_owner":   {"root", "root:root", "!nosuch_user_x"},
		"socket_backlog": {"5", "!0"},
	}
	serverKeys = map[string][]string{
		"port":     {"9001", "127.0.0.1:9001", "!x", "!h:"},
		"file":     {"/tmp/s.sock", "%(here)s/s.sock", "~/s.sock"},
		"chmod":    {"0700", "!x"},
		"chown":    {"root", "root:root", "!nosuch_user_x"},
		"username": {"u"},
		"password": {"p", "{SHA}abc"},
	}
)

// pick chooses a value; values marked "!" (rejected by the reference) are
// chosen rarely so that most generated configs load.
func pick(r *rand.Rand, values []string) string {
	var good, bad []string
	for _, v := range values {
		if strings.HasPrefix(v, "!") {
			bad = append(bad, v[1:])
		} else {
			good = append(good, v)
		}
	}
	if len(bad) > 0 && (len(good) == 0 || r.Intn(80) == 0) {
		return bad[r.Intn(len(bad))]
	}
	return good[r.Intn(len(good))]
}

// genSection writes a section with a random subset of keys, in random
// key spelling and delimiter style.
func genSection(r *rand.Rand, b *strings.Builder, header string, keys map[string][]string, required ...string) {
	fmt.Fprintf(b, "[%s]\n", header)
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		isRequired := false
		for _, req := range required {
			isRequired = isRequired || req == k
		}
		if !isRequired && r.Intn(4) != 0 {
			continue
		}
		if isRequired && r.Intn(30) == 0 {
			continue // sometimes drop a required key
		}
		v := pick(r, keys[k])
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

func genConfig(r *rand.Rand) string {
	var b strings.Builder
	if r.Intn(25) != 0 {
		genSection(r, &b, "supervisord", supervisordKeys)
	}
	programs := []string{"alpha", "beta", "gamma"}[:1+r.Intn(3)]
	for _, p := range programs {
		genSection(r, &b, "program:"+p, programKeys, "command")
	}
	if r.Intn(3) == 0 {
		members := []string{}
		for _, p := range programs {
			if r.Intn(2) == 0 {
				members = append(members, p)
			}
		}
		if r.Intn(8) == 0 {
			members = append(members, "unknown")
		}
		fmt.Fprintf(&b, "[group:grp]\nprograms=%s\n", strings.Join(members, ","))
	}
	if r.Intn(3) == 0 {
		genSection(r, &b, "eventlistener:lis", listenerKeys, "command", "events")
	}
	if r.Intn(4) == 0 {
		genSection(r, &b, "fcgi-program:fcg", fcgiKeys, "command", "socket")
	}
	if r.Intn(3) == 0 {
		genSection(r, &b, "unix_http_server", serverKeys, "file")
	}
	if r.Intn(3) == 0 {
		genSection(r, &b, "inet_http_server", serverKeys, "port")
	}
	if r.Intn(3) == 0 {
		fmt.Fprintf(&b, "[supervisorctl]\nserverurl=unix://%%(here)s/s.sock\n")
	}
	return b.String()
}

// TestGeneratedConfigsMatchReference loads a few hundred generated
// configs with the reference and with Load/LoadCtl.
func TestGeneratedConfigsMatchReference(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewSource(5))
	var files []string
	for i := 0; i < 250; i++ {
		path := filepath.Join(dir, fmt.Sprintf("gen%03d.conf", i))
		if err := os.WriteFile(path, []byte(genConfig(r)), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	env := corpusEnv(t)
	cwd := t.TempDir()
	results := runReference(t, env, cwd, files)
	opts := Options{Env: env, Hostname: refHostname, Cwd: cwd}
	accepted := 0
	for _, ref := range results {
		var got any
		if cfg, err := Load(ref.Path, opts); err != nil {
			got = normalize(t, map[string]any{"error": err.Error()})
		} else {
			accepted++
			got = normalize(t, dumpServer(cfg))
		}
		if want := normalize(t, ref.Server); !reflect.DeepEqual(got, want) {
			text, _ := os.ReadFile(ref.Path)
			t.Errorf("%s differs\n--- config\n%s--- ours\n%s\n--- reference\n%s", filepath.Base(ref.Path), text, jsonText(t, got), jsonText(t, want))
		}
	}
	t.Logf("%d of %d generated configs accepted by both", accepted, len(files))
	if accepted < 20 {
		t.Errorf("only %d of %d generated configs were accepted; the generator is too hostile", accepted, len(files))
	}
}
