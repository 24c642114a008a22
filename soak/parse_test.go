package soak

import (
	"maps"
	"slices"
	"testing"

	"gosupervisor/config"
)

func TestParseStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          string
		wantThreads int
		wantRSS     int64
		wantErr     bool
	}{
		{"typical", "Name:\tsupervisord\nState:\tS (sleeping)\nVmRSS:\t   18480 kB\nThreads:\t10\n", 10, 18480, false},
		{"no rss (kernel thread)", "Name:\tkthreadd\nThreads:\t1\n", 0, 0, true},
		{"garbage number", "Threads:\tten\nVmRSS:\t1 kB\n", 0, 0, true},
		{"empty", "", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			threads, rss, err := parseStatus([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if threads != tt.wantThreads || rss != tt.wantRSS {
				t.Errorf("got threads %d rss %d, want %d %d", threads, rss, tt.wantThreads, tt.wantRSS)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    ProcStat
		wantErr bool
	}{
		{"plain", "1234 (sleep) S 1000 1234 1234 0 -1", ProcStat{PID: 1234, Comm: "sleep", State: 'S', PPID: 1000, PGID: 1234}, false},
		{"zombie", "77 (sh) Z 76 77 77 0", ProcStat{PID: 77, Comm: "sh", State: 'Z', PPID: 76, PGID: 77}, false},
		{"name with spaces and parens", "9 (a (b) c) R 1 9 9", ProcStat{PID: 9, Comm: "a (b) c", State: 'R', PPID: 1, PGID: 9}, false},
		{"truncated", "9 (x) R", ProcStat{}, true},
		{"no name", "9 x R 1 9", ProcStat{}, true},
		{"bad pid", "x (y) R 1 9 9", ProcStat{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestZombiesAndDescendants(t *testing.T) {
	t.Parallel()
	procs := []ProcStat{
		{PID: 10, PPID: 1, State: 'S'},
		{PID: 11, PPID: 10, State: 'S'},
		{PID: 12, PPID: 10, State: 'Z'},
		{PID: 13, PPID: 11, State: 'Z'}, // grandchild zombie: not the daemon's to reap
		{PID: 14, PPID: 1, State: 'Z'},
	}
	pids := func(ps []ProcStat) []int {
		var out []int
		for _, p := range ps {
			out = append(out, p.PID)
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name string
		got  []int
		want []int
	}{
		{"zombies of 10", pids(Zombies(procs, 10)), []int{12}},
		{"zombies of 11", pids(Zombies(procs, 11)), []int{13}},
		{"descendants of 10", pids(Descendants(procs, 10)), []int{11, 12, 13}},
		{"descendants of 14", pids(Descendants(procs, 14)), nil},
	}
	for _, tt := range tests {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestFDKindAndDiff(t *testing.T) {
	t.Parallel()
	tests := []struct{ target, want string }{
		{"pipe:[123]", "pipe"},
		{"socket:[9]", "socket"},
		{"anon_inode:[pidfd]", "anon_inode:[pidfd]"},
		{"/tmp/x/logs/a-stdout.log", "file /tmp/x/logs"},
		{"/dev/null", "file /dev"},
	}
	for _, tt := range tests {
		if got := fdKind(tt.target); got != tt.want {
			t.Errorf("fdKind(%q) = %q, want %q", tt.target, got, tt.want)
		}
	}
	before := map[string]int{"pipe": 4, "socket": 2}
	after := map[string]int{"pipe": 6, "socket": 2, "anon_inode:[pidfd]": 1}
	if got, want := DiffKinds(before, after), "anon_inode:[pidfd] +1, pipe +2"; got != want {
		t.Errorf("DiffKinds = %q, want %q", got, want)
	}
	if got := DiffKinds(before, maps.Clone(before)); got != "no difference" {
		t.Errorf("DiffKinds of equal counts = %q", got)
	}
}

func TestParsePprof(t *testing.T) {
	t.Parallel()
	goroutines := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"goroutine profile: total 429\n6 @ 0x48f60e\n", 429, false},
		{"goroutine profile: total x\n", 0, true},
		{"heap profile: 1: 2 [3: 4] @ heap/1048576\n", 0, true},
	}
	for _, tt := range goroutines {
		got, err := parseGoroutineTotal([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseGoroutineTotal(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	heap := "heap profile: 1: 2 [3: 4] @ heap/1048576\n\n# runtime.MemStats\n# HeapAlloc = 100\n# HeapInuse = 1171456\n# NumGC = 1\n"
	memstats := []struct {
		name    string
		want    uint64
		wantErr bool
	}{
		{"HeapInuse", 1171456, false},
		{"NumGC", 1, false},
		{"StackInuse", 0, true},
	}
	for _, tt := range memstats {
		got, err := parseMemStat([]byte(heap), tt.name)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseMemStat(%s) = %d, %v; want %d, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestLayout(t *testing.T) {
	t.Parallel()
	l := NewLayout()
	for _, v := range []Variant{VariantA, VariantB} {
		n := 0
		for _, g := range l.Groups(v) {
			n += g.NumProcs
		}
		if n != 200 {
			t.Errorf("variant %s has %d programs, want 200", v, n)
		}
	}
	for _, k := range []Kind{Quiet, Chatty, LateCrashers, EarlyCrashers} {
		if len(l.OfKind(k)) == 0 {
			t.Errorf("no %s programs", k)
		}
	}
	tests := []struct {
		from, to                        Variant
		wantAdded, wantChanged, wantRem []string
	}{
		{VariantA, VariantB, []string{"flipb"}, []string{"flipc"}, []string{"flipa"}},
		{VariantB, VariantA, []string{"flipa"}, []string{"flipc"}, []string{"flipb"}},
		{VariantA, VariantA, nil, nil, nil},
	}
	for _, tt := range tests {
		added, changed, removed := l.ReloadDiff(tt.from, tt.to)
		if !slices.Equal(added, tt.wantAdded) || !slices.Equal(changed, tt.wantChanged) || !slices.Equal(removed, tt.wantRem) {
			t.Errorf("ReloadDiff(%s, %s) = %v %v %v, want %v %v %v", tt.from, tt.to, added, changed, removed, tt.wantAdded, tt.wantChanged, tt.wantRem)
		}
	}
	if got, want := (Group{Name: "g", NumProcs: 2}).Processes(), []string{"g:g_00", "g:g_01"}; !slices.Equal(got, want) {
		t.Errorf("Processes = %v, want %v", got, want)
	}
}

func TestCountLines(t *testing.T) {
	t.Parallel()
	log := "2026 INFO spawned: 'a' with pid 1\n2026 WARN exited: a (exit status 1; not expected)\n2026 INFO spawned: 'b' with pid 2\n"
	got := CountLines(log, "spawned: '", "exited: ", "gave up: ")
	want := map[string]int{"spawned: '": 2, "exited: ": 1}
	if !maps.Equal(got, want) {
		t.Errorf("CountLines = %v, want %v", got, want)
	}
}

// TestWrittenConfigParses loads both variants of the written files with
// our config parser and checks the groups and processes they declare.
func TestWrittenConfigParses(t *testing.T) {
	t.Parallel()
	l := NewLayout()
	for _, v := range []Variant{VariantA, VariantB} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			files := NewFiles(t.TempDir())
			if err := files.WriteAll(l, v); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(files.Conf, config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got, want []string
			for _, g := range cfg.Groups {
				for _, p := range g.Processes {
					got = append(got, g.Name+":"+p.Name)
				}
			}
			for _, g := range l.Groups(v) {
				want = append(want, g.Processes()...)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("config declares %d processes, want %d; first got %v", len(got), len(want), first(got, 3))
			}
			if !cfg.Supervisord.Nodaemon || !cfg.Supervisord.Silent {
				t.Errorf("nodaemon %v silent %v, want both", cfg.Supervisord.Nodaemon, cfg.Supervisord.Silent)
			}
		})
	}
}
