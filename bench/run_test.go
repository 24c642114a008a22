package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

func TestRunInterleavesAndKeepsGoing(t *testing.T) {
	var order []string
	var dirs []string
	fake := &Scenario{
		Name:    "fake",
		Figures: []Figure{{Key: "v", Label: "value", Unit: "x", Target: Target{RatioAtMost, 1}}},
		Run: func(ctx context.Context, env *Env) (Sample, error) {
			order = append(order, env.Kind+":"+env.Bin)
			dirs = append(dirs, env.Dir)
			if entries, err := os.ReadDir(env.Dir); err != nil || len(entries) != 0 {
				t.Errorf("run dir %s not fresh: %v %v", env.Dir, entries, err)
			}
			if env.Kind == Ours && len(order) == 3 {
				return Sample{"v": 100}, errors.New("ours broke")
			}
			if env.Kind == Ours {
				return Sample{"v": 1}, nil
			}
			return Sample{"v": 2}, nil
		},
	}
	skipped := &Scenario{Name: "skipped", Run: func(context.Context, *Env) (Sample, error) {
		t.Error("scenario outside -only ran")
		return nil, nil
	}}
	var progress bytes.Buffer
	rep, err := Run(context.Background(), []*Scenario{skipped, fake}, Options{
		Ours: "o", Ref: "r", Runs: 3, Only: []string{"fake"}, TempRoot: t.TempDir(), Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantOrder := []string{"ours:o", "ref:r", "ours:o", "ref:r", "ours:o", "ref:r"}
	if !slices.Equal(order, wantOrder) {
		t.Errorf("order = %v, want %v", order, wantOrder)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("run dir %s not removed: %v", d, err)
		}
	}
	if len(rep.Scenarios) != 1 {
		t.Fatalf("%d scenario results, want 1", len(rep.Scenarios))
	}
	res := rep.Scenarios[0]
	row := res.Rows[0]
	// A failed run's partial figures still count: ours samples 1, 100, 1.
	if *row.Ours.Median != 1 || *row.Ref.Median != 2 || *row.Ratio != 0.5 || !*row.Met {
		t.Errorf("row = %+v", row)
	}
	if len(res.Errors[Ours]) != 1 || !strings.Contains(res.Errors[Ours][0], "run 2: ours broke") {
		t.Errorf("errors = %v", res.Errors)
	}
	if !strings.Contains(progress.String(), "run 2/3 ours") || !strings.Contains(progress.String(), "error: ours broke") {
		t.Errorf("progress:\n%s", progress.String())
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	runs := 0
	sc := &Scenario{Name: "s", Run: func(context.Context, *Env) (Sample, error) {
		runs++
		cancel()
		return Sample{}, nil
	}}
	_, err := Run(ctx, []*Scenario{sc, sc}, Options{Runs: 3, TempRoot: t.TempDir()})
	if !errors.Is(err, context.Canceled) || runs != 1 {
		t.Errorf("err = %v after %d runs; want context.Canceled after 1", err, runs)
	}
}

// TestSmokeReference runs the idle and start-up scenarios against the
// Python reference only, and checks the figures are plausible.
func TestSmokeReference(t *testing.T) {
	testenv.RequireReference(t)
	t.Parallel()
	params := DefaultParams(true)
	params.IdleSettle = 500 * time.Millisecond
	params.StartupTries = 3
	var progress bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	rep, err := Run(ctx, Scenarios(Setup{Params: params}), Options{
		Ref: testenv.PythonSupervisord, Kinds: []string{Ref}, Runs: 1, Params: params,
		Only: []string{"idle", "startup"}, TempRoot: t.TempDir(), Progress: &progress,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	figures := map[string]float64{}
	for _, sc := range rep.Scenarios {
		if len(sc.Errors) > 0 {
			t.Errorf("scenario %s failed: %v", sc.Name, sc.Errors)
		}
		for _, row := range sc.Rows {
			if row.Ref.Median == nil {
				t.Errorf("%s/%s: no figure", sc.Name, row.Key)
				continue
			}
			figures[sc.Name+"/"+row.Key] = *row.Ref.Median
		}
	}
	t.Logf("reference figures: %v", figures)
	// The reference is a Python process: tens of MiB, and start-up takes
	// more than a millisecond but far less than the ready timeout.
	checks := []struct {
		key      string
		min, max float64
	}{
		{"idle/rss", 8, 200},
		{"idle/hwm", figures["idle/rss"], 250},
		{"startup/ready", 5, 10_000},
	}
	for _, c := range checks {
		v, ok := figures[c.key]
		if !ok || v < c.min || v > c.max {
			t.Errorf("%s = %v (present %v), want in [%v, %v]", c.key, v, ok, c.min, c.max)
		}
	}
}

func TestSelected(t *testing.T) {
	tests := []struct {
		name string
		only []string
		want bool
	}{
		{"logs-disk", nil, true},
		{"logs-disk", []string{"logs"}, true},
		{"logs-tmpfs", []string{"idle", "logs"}, true},
		{"logs-disk", []string{"logs-tmpfs"}, false},
		{"rpc-mixed", []string{"rpc"}, true},
		{"rpc", []string{"rpc-mixed"}, false},
		{"idle", []string{"id"}, false},
	}
	for _, tt := range tests {
		if got := Selected(tt.name, tt.only); got != tt.want {
			t.Errorf("Selected(%q, %q) = %v, want %v", tt.name, tt.only, got, tt.want)
		}
	}
}

// TestSmokeOurs runs the log, mixed-RPC and scale scenarios, made small,
// against our daemon: every figure is there and the logs are byte-exact.
func TestSmokeOurs(t *testing.T) {
	testenv.RequireReference(t) // the Python clients use its interpreter
	bin := testenv.Binaries(t) + "/supervisord"
	reader := buildLogReader(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	params := DefaultParams(true)
	params.LogBytes, params.LogMaxBytes, params.LogBackups = 8<<20, 1<<20, 3
	params.RPCFor = 300 * time.Millisecond
	params.ScaleSizes, params.ScaleIdle, params.ScaleListFor = []int{5, 20}, 300*time.Millisecond, 100*time.Millisecond
	tmp := t.TempDir()
	m, err := MountOf(tmp)
	if err != nil {
		t.Fatal(err)
	}
	setup, logs := Setup{DiskDir: tmp, Params: params}, "logs-disk"
	if m.InMemory() {
		setup, logs = Setup{TmpfsDir: tmp, Params: params}, "logs-tmpfs"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	rep, err := Run(ctx, Scenarios(setup), Options{
		Ours: bin, Kinds: []string{Ours}, Runs: 1, Params: params, Helper: self, LogReader: reader,
		Only: []string{logs, "rpc-mixed", "scale"}, TempRoot: t.TempDir(), Progress: &progress,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if len(rep.Scenarios) != 3 {
		t.Fatalf("%d scenarios ran:\n%s", len(rep.Scenarios), progress.String())
	}
	for _, sc := range rep.Scenarios {
		if len(sc.Errors) > 0 {
			t.Errorf("scenario %s failed: %v", sc.Name, sc.Errors)
		}
		for _, row := range sc.Rows {
			// So small a run may use under one CPU tick: no exponent then.
			if row.Ours.Median == nil && !strings.HasPrefix(row.Key, "growth_") {
				t.Errorf("%s/%s: no figure", sc.Name, row.Key)
			}
			if row.Key == "kept_ok" && (row.Ours.Median == nil || *row.Ours.Median != 1) {
				t.Errorf("%s: kept bytes are not the stream's tail", sc.Name)
			}
		}
	}
	if err := rep.WriteSVG(io.Discard); err != nil {
		t.Error(err)
	}
}
