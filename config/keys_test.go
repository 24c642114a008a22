package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// loadText writes text to a file in a temp dir and loads it with keys.
func loadText(t *testing.T, text string, keys []keyRow) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return load(path, Options{Env: []string{"HOME=" + dir, "TMPDIR=" + dir}, Hostname: "h", Cwd: dir}, keys, nil)
}

func mustLoadText(t *testing.T, text string, keys []keyRow) *Config {
	t.Helper()
	cfg, err := loadText(t, text, keys)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// changeValue changes v (settable) to a different value of its type.
func changeValue(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Slice:
		elem := reflect.New(v.Type().Elem()).Elem()
		changeValue(t, elem)
		v.Set(reflect.Append(v, elem))
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		key := reflect.New(v.Type().Key()).Elem()
		changeValue(t, key)
		v.SetMapIndex(key, reflect.New(v.Type().Elem()).Elem())
	case reflect.Struct:
		changeValue(t, v.Field(0))
	default:
		t.Fatalf("changeValue: no rule for %s", v.Type())
	}
}

// TestDiffComparesEveryProcessField changes each field of a process (and
// of its two LogConfigs) in turn: Diff must call the group changed, except
// for the fields the reference does not compare either. A field added to
// Process is compared without more code, and this test fails if a rule
// stops comparing one.
func TestDiffComparesEveryProcessField(t *testing.T) {
	notCompared := []string{
		"Group", "ProgramName", "ProcessNum", "NumProcs", // names, seen in the group
		"Argv", "ArgvErr", // derived from Command
		"User", "GID", // UID is compared
		"Stdout.Auto", "Stderr.Auto", // AUTO on either side matches any file
		"Requires", // derived from DependsOn and the other groups
	}
	dir := t.TempDir()
	text := "[supervisord]\n[program:p]\ncommand=/bin/x\nstdout_logfile=" + dir + "/o.log\nstderr_logfile=" + dir + "/e.log\n"
	var fields []string
	pt := reflect.TypeOf(Process{})
	for i := range pt.NumField() {
		f := pt.Field(i)
		if f.Type == reflect.TypeOf(LogConfig{}) {
			for j := range f.Type.NumField() {
				fields = append(fields, f.Name+"."+f.Type.Field(j).Name)
			}
			continue
		}
		fields = append(fields, f.Name)
	}
	for _, name := range notCompared {
		if !slices.Contains(fields, name) {
			t.Errorf("%s is listed as not compared but Process has no such field", name)
		}
	}
	for _, name := range fields {
		t.Run(name, func(t *testing.T) {
			oldCfg, newCfg := mustLoadText(t, text, processKeys()), mustLoadText(t, text, processKeys())
			v := reflect.ValueOf(newCfg.Groups[0].Processes[0]).Elem()
			for _, part := range strings.Split(name, ".") {
				v = v.FieldByName(part)
			}
			changeValue(t, v)
			_, changed, _ := Diff(oldCfg, newCfg)
			want := !slices.Contains(notCompared, name)
			if got := len(changed) == 1; got != want {
				t.Errorf("after changing %s, Diff reports changed=%v, want %v", name, changed, want)
			}
		})
	}
}

// TestDiffComparesEveryGroupField does the same for the fields of Group.
func TestDiffComparesEveryGroupField(t *testing.T) {
	// Kind: a plain group equals a [group:x] of the same processes.
	// Socket: compared by URL, for fcgi groups only (the reference's
	// rules; this group is a listener pool, the kind with most fields).
	notCompared := []string{"Kind", "Socket"}
	text := "[supervisord]\n[eventlistener:l]\ncommand=/bin/x\nevents=TICK_5\n"
	gt := reflect.TypeOf(Group{})
	for i := range gt.NumField() {
		name := gt.Field(i).Name
		if name == "Name" {
			continue // a renamed group is added and removed, not changed
		}
		t.Run(name, func(t *testing.T) {
			oldCfg, newCfg := mustLoadText(t, text, processKeys()), mustLoadText(t, text, processKeys())
			g := newCfg.Groups[0]
			v := reflect.ValueOf(g).Elem().FieldByName(name)
			switch name {
			case "Kind":
				g.Kind = KindGroup
				oldCfg.Groups[0].Kind = KindProgram
			case "Socket":
				g.Socket = &FCGISocket{URL: "tcp://h:1"}
			case "Processes":
				changeValue(t, reflect.ValueOf(g.Processes[0]).Elem().FieldByName("Command"))
			default:
				changeValue(t, v)
			}
			_, changed, _ := Diff(oldCfg, newCfg)
			want := !slices.Contains(notCompared, name)
			if got := len(changed) == 1; got != want {
				t.Errorf("after changing %s, Diff reports changed=%v, want %v", name, changed, want)
			}
		})
	}
}

// TestMadeUpKeyIsOneRow adds an extension key to the table (one row, no
// other code) and checks that Load reads and expands it, SectionKeys
// lists it, Diff sees its changes, and its errors come after the
// reference's.
func TestMadeUpKeyIsOneRow(t *testing.T) {
	keys := append(processKeys(), keyRow{
		name: "x_made_up", in: inProgram, stage: stageProcess, extension: true, optional: true,
		set: func(c *keyCtx, v string) error { _, err := ParseInteger(v); return err },
	})
	base := "[supervisord]\n[program:p]\ncommand=/bin/x\nnumprocs=2\nprocess_name=p%(process_num)d\n"
	plain := mustLoadText(t, base, keys)
	one := mustLoadText(t, base+"x_made_up=1%(process_num)d\n", keys)
	two := mustLoadText(t, base+"x_made_up=2\n", keys)
	if got := plain.Groups[0].Processes[0].Extensions; got != nil {
		t.Errorf("a program without extension keys has Extensions %v, want nil", got)
	}
	if got := one.Groups[0].Processes[1].Extensions; !reflect.DeepEqual(got, map[string]string{"x_made_up": "11"}) {
		t.Errorf("Extensions = %v, want x_made_up expanded per process", got)
	}
	for _, c := range []struct {
		name     string
		old, new *Config
		changed  bool
	}{
		{"added", plain, one, true},
		{"changed", one, two, true},
		{"removed", two, plain, true},
		{"same", two, mustLoadText(t, base+"x_made_up=2\n", keys), false},
	} {
		if _, changed, _ := Diff(c.old, c.new); (len(changed) == 1) != c.changed {
			t.Errorf("%s: Diff changed=%v, want changed %v", c.name, changed, c.changed)
		}
	}

	var listed *Key
	for _, k := range sectionKeys(keys, inProgram) {
		if k.Name == "x_made_up" {
			listed = &k
		}
	}
	if listed == nil || !listed.Extension {
		t.Errorf("sectionKeys lists x_made_up as %+v, want an extension key", listed)
	}
	for _, k := range sectionKeys(keys, inListener) {
		if k.Name == "x_made_up" {
			t.Errorf("x_made_up is listed for [eventlistener:x], but its row is for [program:x] only")
		}
	}

	// Its own error is reported when nothing else is wrong...
	_, err := loadText(t, base+"x_made_up=zz\n", keys)
	if err == nil || !strings.HasPrefix(err.Error(), "invalid literal for int() with base 10: 'zz' in section 'program:p'") {
		t.Errorf("bad x_made_up: %v", err)
	}
	// ...but a mistake the reference reports, even in a later section,
	// comes first: the reference ignores the key.
	_, err = loadText(t, base+"x_made_up=zz\n[program:q]\ncommand=/bin/q\nstartsecs=bad\n", keys)
	if err == nil || !strings.Contains(err.Error(), "'bad' in section 'program:q'") {
		t.Errorf("bad x_made_up before a bad startsecs: %v, want the startsecs error", err)
	}
}

// TestSectionKeysOfStockSections pins the known keys per section: the
// reference's, then the extension keys, marked as such.
func TestSectionKeysOfStockSections(t *testing.T) {
	names := func(k GroupKind) string {
		var out []string
		for _, key := range SectionKeys(k) {
			if key.Extension {
				continue
			}
			out = append(out, key.Name)
		}
		return strings.Join(out, " ")
	}
	rest := "autostart autorestart startsecs startretries stopsignal stopwaitsecs stopasgroup killasgroup exitcodes redirect_stderr numprocs numprocs_start stdout_capture_maxbytes stdout_events_enabled stderr_capture_maxbytes stderr_events_enabled serverurl user umask process_name environment directory stdout_logfile stdout_logfile_backups stdout_logfile_maxbytes stdout_syslog stderr_logfile stderr_logfile_backups stderr_logfile_maxbytes stderr_syslog command"
	for _, c := range []struct {
		kind GroupKind
		want string
	}{
		{KindProgram, "priority " + rest},
		{KindEventListener, "priority buffer_size result_handler events redirect_stderr " + strings.Replace(rest, "redirect_stderr ", "", 1)},
		{KindFCGI, "priority user socket_backlog socket_owner socket_mode socket " + strings.Replace(rest, "user ", "", 1)},
		{KindGroup, "programs priority"},
	} {
		if got := names(c.kind); got != c.want {
			t.Errorf("SectionKeys(%d) =\n%s\nwant\n%s", c.kind, got, c.want)
		}
	}
	var ext []string
	for _, key := range SectionKeys(KindProgram) {
		if key.Extension {
			ext = append(ext, key.Name)
		}
	}
	wantExt := "notify notify_access ready_timeout_secs watchdog_secs watchdog_signal healthcheck_exec healthcheck_http healthcheck_tcp healthcheck_interval_secs healthcheck_timeout_secs healthcheck_retries healthcheck_start_period_secs healthcheck_action" +
		" rlimit_cpu rlimit_fsize rlimit_data rlimit_stack rlimit_core rlimit_as rlimit_memlock rlimit_msgqueue rlimit_nofile rlimit_nproc rlimit_locks rlimit_sigpending rlimit_nice rlimit_rtprio rlimit_rttime rlimit_rss" +
		" rss_limit rss_check_secs cgroup_memory_max cgroup_memory_high cgroup_cpu_quota cgroup_pids_max cgroup_oom_group" +
		" depends_on depends_on_timeout_secs environment_file exit_on_fatal exit_on_end backoff_max_secs"
	if got := strings.Join(ext, " "); got != wantExt {
		t.Errorf("extension keys of [program:x] =\n%s\nwant\n%s", got, wantExt)
	}
	for _, r := range processKeys() {
		if r.extension && r.stage == stageGroup {
			t.Errorf("extension key %s is read at the group stage, where no process keeps it", r.name)
		}
	}
}
