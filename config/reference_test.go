package config

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gosupervisor/internal/testenv"
)

// refHostname is %(host_node_name)s on both sides of the differential test.
const refHostname = "refhost"

// corpusEnv is the whole environment both parsers see.
func corpusEnv(t *testing.T) []string {
	home := t.TempDir()
	return []string{
		"PATH=/usr/bin:/bin",
		"LANG=C.UTF-8",
		"HOME=" + home,
		"TMPDIR=" + t.TempDir(),
		"SUPTEST_A=alpha",
		"SUPTEST_PCT=50%",
		"SUPTEST_SPACE=a b",
		"SUPTEST_NUM=7",
		"SUPTEST_WS= 7\u00a0",
		"SUPTEST_UNI=٣",
	}
}

func corpusFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "testdata", "config", "*.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("corpus has %d configs, want at least 30", len(files))
	}
	return files
}

// refResult is one file as refdump.py reports it.
type refResult struct {
	Path   string         `json:"path"`
	Server map[string]any `json:"server"`
	Ctl    map[string]any `json:"ctl"`
}

// runReference loads every file with the Python reference in one run.
func runReference(t *testing.T, env []string, cwd string, files []string) []refResult {
	t.Helper()
	if _, err := os.Stat(testenv.Python3); err != nil {
		t.Fatalf("reference interpreter %s missing (run make deps): %v", testenv.Python3, err)
	}
	script := filepath.Join(testenv.RepoRoot(), "config", "testdata", "refdump.py")
	cmd := exec.Command(testenv.Python3, append([]string{script, refHostname}, files...)...)
	cmd.Env = env
	cmd.Dir = cwd
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("refdump.py: %v\n%s", err, stderr.String())
	}
	var results []refResult
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("refdump.py output: %v", err)
	}
	if len(results) != len(files) {
		t.Fatalf("refdump.py returned %d results for %d files", len(results), len(files))
	}
	return results
}

// normalize turns a value into the plain JSON shape (maps, slices,
// float64) so ours and the reference's compare with reflect.DeepEqual.
func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func dumpLog(lc LogConfig) map[string]any {
	file := lc.File
	switch {
	case lc.Auto:
		file = "AUTO"
	case file == "":
		file = "NONE"
	}
	return map[string]any{
		"file": file, "maxbytes": lc.MaxBytes, "backups": lc.Backups,
		"capture": lc.CaptureMaxBytes, "events": lc.EventsEnabled, "syslog": lc.Syslog,
	}
}

func dumpEnv(vars []EnvVar) [][]string {
	out := [][]string{}
	for _, kv := range vars {
		out = append(out, []string{kv.Key, kv.Value})
	}
	return out
}

// dumpServer renders our Config in refdump.py's shape.
func dumpServer(c *Config) map[string]any {
	s := c.Supervisord
	logfile := s.Logfile
	if s.LogfileSyslog {
		logfile = "syslog"
	}
	sup := map[string]any{
		"logfile": logfile, "logfile_maxbytes": s.LogfileMaxBytes, "logfile_backups": s.LogfileBackups,
		"loglevel": int(s.LogLevel), "pidfile": s.Pidfile, "umask": s.Umask, "nodaemon": s.Nodaemon,
		"silent": s.Silent, "minfds": s.MinFDs, "minprocs": s.MinProcs, "nocleanup": s.NoCleanup,
		"childlogdir": s.ChildLogDir, "user": s.User, "uid": s.UID, "gid": s.GID,
		"directory": s.Directory, "strip_ansi": s.StripANSI, "identifier": s.Identifier,
		"environment": dumpEnv(s.Environment),
	}
	inet := []any{}
	for _, srv := range c.InetHTTPServers {
		inet = append(inet, map[string]any{"section": srv.Section, "host": srv.Host, "port": srv.Port,
			"username": srv.Username, "password": srv.Password})
	}
	unix := []any{}
	for _, srv := range c.UnixHTTPServers {
		unix = append(unix, map[string]any{"section": srv.Section, "file": srv.File, "chmod": srv.Chmod,
			"chown": []int{srv.ChownUID, srv.ChownGID}, "username": srv.Username, "password": srv.Password})
	}
	rpc := []any{}
	for _, r := range c.RPCInterfaces {
		extras := map[string]string{}
		for k, v := range r.Extras {
			extras[k] = v
		}
		rpc = append(rpc, []any{r.Name, r.Factory, extras})
	}
	groups := []any{}
	for _, g := range c.Groups {
		procs := []any{}
		for _, p := range g.Processes {
			env := mergedEnv(c, p)
			pairs := [][]string{}
			for k, v := range env {
				pairs = append(pairs, []string{k, v})
			}
			sort.Slice(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
			autorestart := map[Autorestart]string{AutorestartFalse: "false", AutorestartUnexpected: "unexpected", AutorestartTrue: "true"}[p.Autorestart]
			exitcodes := p.ExitCodes
			if exitcodes == nil {
				exitcodes = []int{}
			}
			var directory any // None when directory= is absent
			if p.DirectorySet {
				directory = p.Directory
			}
			procs = append(procs, map[string]any{
				"name": p.Name, "command": p.Command, "directory": directory, "umask": p.Umask,
				"priority": p.Priority, "autostart": p.Autostart, "autorestart": autorestart,
				"startsecs": p.StartSecs, "startretries": p.StartRetries, "exitcodes": exitcodes,
				"stopsignal": int(p.StopSignal), "stopwaitsecs": p.StopWaitSecs, "stopasgroup": p.StopAsGroup,
				"killasgroup": p.KillAsGroup, "uid": p.UID, "redirect_stderr": p.RedirectStderr,
				"stdout": dumpLog(p.Stdout), "stderr": dumpLog(p.Stderr), "environment": pairs,
				"serverurl": p.ServerURL,
			})
		}
		out := map[string]any{"name": g.Name, "priority": g.Priority, "processes": procs}
		switch g.Kind {
		case KindEventListener:
			out["kind"] = "EventListenerPoolConfig"
			events := append([]string(nil), g.Events...)
			sort.Strings(events)
			out["buffer_size"] = g.BufferSize
			out["events"] = events
		case KindFCGI:
			out["kind"] = "FastCGIGroupConfig"
			backlog := g.Socket.Backlog
			if !g.Socket.BacklogSet {
				backlog = -1
			}
			mode := int(g.Socket.Mode)
			if g.Socket.Network != "unix" {
				mode = -1
			}
			out["socket"] = map[string]any{"url": g.Socket.URL, "backlog": backlog,
				"owner": []int{g.Socket.OwnerUID, g.Socket.OwnerGID}, "mode": mode}
		default:
			out["kind"] = "ProcessGroupConfig"
		}
		groups = append(groups, out)
	}
	messages := [][]string{}
	for _, m := range c.Messages {
		level := m.Level.String()
		messages = append(messages, []string{level, m.Text})
	}
	return map[string]any{
		"supervisord": sup, "serverurl": c.ServerURL, "inet": inet, "unix": unix,
		"rpc": rpc, "groups": groups, "messages": messages,
	}
}

func dumpCtl(c *Supervisorctl) map[string]any {
	return map[string]any{"serverurl": c.ServerURL, "username": c.Username, "password": c.Password,
		"prompt": c.Prompt, "history_file": c.HistoryFile}
}

func jsonText(t *testing.T, v any) string {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReferenceCorpus loads every config of testdata/config with the
// Python reference and with Load/LoadCtl and requires identical results:
// the same resolved values, or the same error text.
//
// Files are named relative to the corpus directory, the way users run
// "supervisord -c supervisord.conf", so error texts show relative names.
func TestReferenceCorpus(t *testing.T) {
	env := corpusEnv(t)
	cwd := filepath.Join(testenv.RepoRoot(), "testdata", "config")
	var files []string
	for _, f := range corpusFiles(t) {
		files = append(files, filepath.Base(f))
	}
	results := runReference(t, env, cwd, files)
	opts := Options{Env: env, Hostname: refHostname, Cwd: cwd}
	for _, ref := range results {
		t.Run(filepath.Base(ref.Path), func(t *testing.T) {
			// The file name says what the reference does with it.
			_, rejected := ref.Server["error"]
			if name := filepath.Base(ref.Path); strings.HasPrefix(name, "bad_") != rejected {
				t.Errorf("reference rejected=%v (%v), but the corpus name says otherwise", rejected, ref.Server["error"])
			}
			compareWithReference(t, ref, opts)
		})
	}
}

// compareWithReference loads ref.Path with Load and LoadCtlWith and
// requires the reference's values, or its error text.
func compareWithReference(t *testing.T, ref refResult, opts Options) {
	t.Helper()
	want := normalize(t, ref.Server)
	var got any
	if cfg, err := Load(ref.Path, opts); err != nil {
		got = normalize(t, map[string]any{"error": err.Error()})
	} else {
		got = normalize(t, dumpServer(cfg))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("supervisord view differs\n--- ours\n%s\n--- reference\n%s", jsonText(t, got), jsonText(t, want))
	}
	wantCtl := normalize(t, ref.Ctl)
	var gotCtl any
	if ctl, err := LoadCtlWith(ref.Path, opts); err != nil {
		gotCtl = normalize(t, map[string]any{"error": err.Error()})
	} else {
		gotCtl = normalize(t, dumpCtl(ctl))
	}
	if !reflect.DeepEqual(gotCtl, wantCtl) {
		t.Errorf("supervisorctl view differs\n--- ours\n%s\n--- reference\n%s", jsonText(t, gotCtl), jsonText(t, wantCtl))
	}
}

// TestCorpusRejectsSomething guards the corpus itself: it must hold both
// accepted and rejected configs, or the differential test proves little.
func TestCorpusRejectsSomething(t *testing.T) {
	var accepted, rejected int
	opts := Options{Env: corpusEnv(t), Hostname: refHostname, Cwd: t.TempDir()}
	for _, f := range corpusFiles(t) {
		if _, err := Load(f, opts); err != nil {
			rejected++
		} else {
			accepted++
		}
	}
	if accepted < 20 || rejected < 10 {
		t.Fatalf("corpus has %d accepted and %d rejected configs; want >= 20 and >= 10", accepted, rejected)
	}
}
