package rpc

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/engine"
)

// fakeBackend is an in-memory daemon: enough state for the dispatcher's
// and the stock clients' observable behaviour.
type fakeBackend struct {
	mu       sync.Mutex
	state    protocol.SupervisorState
	procs    []*fakeProc // sorted by group, then name
	inactive []engine.ConfiguredProcess
	mainLog  string
	reload   [3][]string
	stdin    map[string][]byte
	events   [][2]string
	// blockStart makes StartProcess with wait block until ctx ends;
	// startBlocked is closed when it starts waiting, and the ctx error is
	// then sent to startCancel.
	blockStart   string
	startBlocked chan struct{}
	startCancel  chan error
	// startDelay makes every StartProcess take that long (or until ctx ends).
	startDelay time.Duration
	// restartErr is what Restart returns (a plain error, not a Fault).
	restartErr error
}

type fakeProc struct {
	info    engine.ProcessStatus
	noFile  bool // command missing: start faults NO_FILE
	failing bool // start faults SPAWN_ERROR
}

// newFakeBackend builds: cat (running, own group), grp:a (stopped, never
// started), grp:b (running), failer (fatal) and nofile (stopped, its
// command missing). Log files live in dir.
func newFakeBackend(t testing.TB) *fakeBackend {
	dir := t.TempDir()
	mk := func(group, name string, state protocol.ProcessState, pid int) *fakeProc {
		out := filepath.Join(dir, name+"-stdout.log")
		errLog := filepath.Join(dir, name+"-stderr.log")
		return &fakeProc{info: engine.ProcessStatus{
			Name: name, Group: group, State: state, Started: time.Unix(fakeStart, 0), PID: pid,
			LogFiles: [2]string{out, errLog},
		}}
	}
	b := &fakeBackend{
		state:   protocol.SupervisorRunning,
		mainLog: filepath.Join(dir, "supervisord.log"),
		stdin:   map[string][]byte{},
		procs: []*fakeProc{
			mk("cat", "cat", protocol.StateRunning, 4242),
			mk("failer", "failer", protocol.StateFatal, 0),
			mk("grp", "a", protocol.StateStopped, 0),
			mk("grp", "b", protocol.StateRunning, 4343),
			mk("nofile", "nofile", protocol.StateStopped, 0),
		},
		reload:       [3][]string{{"newgrp"}, {"grp"}, {}},
		startBlocked: make(chan struct{}),
		startCancel:  make(chan error, 1),
	}
	b.procs[1].failing = true
	b.procs[1].info.SpawnErr = "Exited too quickly (process log may have details)"
	b.procs[2].info.Started = time.Time{}
	b.procs[4].noFile = true
	b.procs[4].info.Started = time.Time{}
	for _, p := range b.procs {
		writeFile(t, p.info.LogFiles[protocol.Stdout], "stdout of "+p.info.Name+"\n")
	}
	writeFile(t, b.procs[0].info.LogFiles[protocol.Stderr], "stderr of cat\n")
	writeFile(t, b.mainLog, "2026-11-30 04:00:00,000 INFO supervisord started\n")
	b.procs[4].info.LogFiles[protocol.Stdout] = ""
	newgrp := &config.Group{Name: "newgrp", Priority: 999}
	b.inactive = []engine.ConfiguredProcess{{Group: newgrp, Process: &config.Process{
		Name: "newgrp", Group: "newgrp", Command: "/bin/true", Autostart: true, Priority: 999, StopSignal: 15,
		ExitCodes: []int{0}, ServerURL: "AUTO", UID: -1, GID: -1,
		Stdout: config.LogConfig{Auto: true}, Stderr: config.LogConfig{Auto: true}}}}
	return b
}

// fakeStart is when the fake's processes started (epoch seconds); the
// test handlers' clock (fakeNow) reads five seconds later.
const fakeStart = 1764469000

func fakeNow() time.Time { return time.Unix(fakeStart+5, 0) }

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (b *fakeBackend) find(name string) (*fakeProc, error) {
	group, proc := splitNamespec(name)
	for _, p := range b.procs {
		if p.info.Group == group && p.info.Name == proc {
			return p, nil
		}
	}
	return nil, &engine.Error{Kind: engine.ErrNoSuchName, Detail: name}
}

func (b *fakeBackend) group(group string) ([]*fakeProc, error) {
	var out []*fakeProc
	for _, p := range b.procs {
		if p.info.Group == group {
			out = append(out, p)
		}
	}
	if out == nil {
		return nil, &engine.Error{Kind: engine.ErrNoSuchName, Detail: group}
	}
	return out, nil
}

func (b *fakeBackend) setState(s protocol.SupervisorState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state = s
}

func (b *fakeBackend) State() protocol.SupervisorState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
func (b *fakeBackend) PID() int               { return 777 }
func (b *fakeBackend) Identification() string { return "supervisor" }
func (b *fakeBackend) MainLogPath() string    { return b.mainLog }
func (b *fakeBackend) ClearMainLog() error {
	return os.WriteFile(b.mainLog, nil, 0o644)
}
func (b *fakeBackend) Shutdown() error {
	b.setState(protocol.SupervisorShutdown)
	return nil
}
func (b *fakeBackend) Restart() error {
	if b.restartErr != nil {
		return b.restartErr
	}
	b.setState(protocol.SupervisorRestarting)
	return nil
}
func (b *fakeBackend) ReloadConfig() ([]string, []string, []string, error) {
	return b.reload[0], b.reload[1], b.reload[2], nil
}
func (b *fakeBackend) AddProcessGroup(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.group(name); err == nil {
		return &engine.Error{Kind: engine.ErrAlreadyActive, Detail: name}
	}
	if name != "newgrp" {
		return &engine.Error{Kind: engine.ErrNoSuchName, Detail: name}
	}
	return nil
}
func (b *fakeBackend) RemoveProcessGroup(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	ps, err := b.group(name)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.info.State == protocol.StateRunning {
			return &engine.Error{Kind: engine.ErrStillRunning, Detail: name}
		}
	}
	return nil
}
func (b *fakeBackend) Process(name string) (engine.ProcessStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.find(name)
	if err != nil {
		return engine.ProcessStatus{}, err
	}
	return p.info, nil
}
func (b *fakeBackend) Processes() ([]engine.ProcessStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]engine.ProcessStatus, len(b.procs))
	for i, p := range b.procs {
		out[i] = p.info
	}
	return out, nil
}
func (b *fakeBackend) ConfiguredProcesses() []engine.ConfiguredProcess {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []engine.ConfiguredProcess
	for _, p := range b.procs {
		out = append(out, engine.ConfiguredProcess{
			Group: &config.Group{Name: p.info.Group, Priority: 999},
			Process: &config.Process{
				Name: p.info.Name, Group: p.info.Group, Autostart: p.info.Name != "a",
				Command: "/bin/" + p.info.Name, UID: -1, GID: -1, ExitCodes: []int{0},
				Priority: 999, StopSignal: 15, StopWaitSecs: 10, StartSecs: 1, StartRetries: 3, ServerURL: "AUTO",
				Stdout: config.LogConfig{File: p.info.LogFiles[protocol.Stdout], MaxBytes: 50 << 20, Backups: 10},
				Stderr: config.LogConfig{File: p.info.LogFiles[protocol.Stderr], MaxBytes: 50 << 20},
			},
			Active: true,
		})
	}
	return append(out, b.inactive...)
}
func (b *fakeBackend) HasGroup(group string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, err := b.group(group)
	return err == nil
}

func (b *fakeBackend) startLocked(name string, p *fakeProc) error {
	switch {
	case p.noFile:
		return &engine.Error{Kind: engine.ErrNoCommand, Detail: "no such file: /bin/" + p.info.Name}
	case p.info.State == protocol.StateRunning || p.info.State == protocol.StateStarting || p.info.State == protocol.StateBackoff:
		return &engine.Error{Kind: engine.ErrAlreadyStarted, Detail: name}
	case p.failing:
		return &engine.Error{Kind: engine.ErrSpawn, Detail: name}
	}
	p.info.State = protocol.StateRunning
	p.info.PID = 5000 + len(p.info.Name)
	p.info.Started = fakeNow()
	return nil
}

func (b *fakeBackend) StartProcess(ctx context.Context, name string, wait bool) error {
	if wait && name == b.blockStart {
		close(b.startBlocked)
		<-ctx.Done()
		b.startCancel <- ctx.Err()
		return ctx.Err()
	}
	if b.startDelay > 0 {
		select {
		case <-time.After(b.startDelay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.find(name)
	if err != nil {
		return err
	}
	return b.startLocked(name, p)
}

func resultOf(p *fakeProc, err error) engine.Outcome {
	return engine.Outcome{Name: p.info.Name, Group: p.info.Group, Err: err}
}

func (b *fakeBackend) StartProcessGroup(_ context.Context, group string, _ bool) ([]engine.Outcome, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ps, err := b.group(group)
	if err != nil {
		return nil, err
	}
	return b.startAll(ps), nil
}

func (b *fakeBackend) startAll(ps []*fakeProc) []engine.Outcome {
	out := []engine.Outcome{}
	for _, p := range ps {
		if p.info.State == protocol.StateRunning {
			continue
		}
		out = append(out, resultOf(p, b.startLocked(p.info.Group+":"+p.info.Name, p)))
	}
	return out
}

func (b *fakeBackend) StartAllProcesses(context.Context, bool) ([]engine.Outcome, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.startAll(b.procs), nil
}

func (b *fakeBackend) stopLocked(name string, p *fakeProc) error {
	if p.info.State != protocol.StateRunning {
		return &engine.Error{Kind: engine.ErrNotRunning, Detail: name}
	}
	p.info.State, p.info.PID = protocol.StateStopped, 0
	p.info.Stopped = fakeNow()
	return nil
}

func (b *fakeBackend) StopProcess(_ context.Context, name string, _ bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.find(name)
	if err != nil {
		return err
	}
	return b.stopLocked(name, p)
}

func (b *fakeBackend) stopAll(ps []*fakeProc) []engine.Outcome {
	out := []engine.Outcome{}
	for _, p := range ps {
		if p.info.State == protocol.StateRunning {
			out = append(out, resultOf(p, b.stopLocked(p.info.Name, p)))
		}
	}
	return out
}

func (b *fakeBackend) StopProcessGroup(_ context.Context, group string, _ bool) ([]engine.Outcome, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ps, err := b.group(group)
	if err != nil {
		return nil, err
	}
	return b.stopAll(ps), nil
}

func (b *fakeBackend) StopAllProcesses(context.Context, bool) ([]engine.Outcome, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stopAll(b.procs), nil
}

func validSignal(sig string) bool {
	if n, err := strconv.Atoi(sig); err == nil {
		return n > 0 && n < 65
	}
	return slices.Contains([]string{"HUP", "TERM", "KILL", "USR1", "USR2", "INT"}, strings.TrimPrefix(strings.ToUpper(sig), "SIG"))
}

func (b *fakeBackend) signalLocked(name string, p *fakeProc, sig string) error {
	if !validSignal(sig) {
		return &engine.Error{Kind: engine.ErrBadSignal, Detail: sig}
	}
	if p.info.State != protocol.StateRunning {
		return &engine.Error{Kind: engine.ErrNotRunning, Detail: name}
	}
	return nil
}

func (b *fakeBackend) SignalProcess(name, sig string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.find(name)
	if err != nil {
		return err
	}
	return b.signalLocked(name, p, sig)
}

func (b *fakeBackend) signalAll(ps []*fakeProc, sig string) []engine.Outcome {
	out := []engine.Outcome{}
	for _, p := range ps {
		if p.info.State == protocol.StateRunning {
			out = append(out, resultOf(p, b.signalLocked(p.info.Name, p, sig)))
		}
	}
	return out
}

func (b *fakeBackend) SignalProcessGroup(group, sig string) ([]engine.Outcome, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ps, err := b.group(group)
	if err != nil {
		return nil, err
	}
	return b.signalAll(ps, sig), nil
}

func (b *fakeBackend) SignalAllProcesses(sig string) ([]engine.Outcome, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.signalAll(b.procs, sig), nil
}

func (b *fakeBackend) SendProcessStdin(name string, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.find(name)
	if err != nil {
		return err
	}
	if p.info.PID == 0 {
		return &engine.Error{Kind: engine.ErrNotRunning, Detail: name}
	}
	b.stdin[name] = append(b.stdin[name], data...)
	return nil
}

func (b *fakeBackend) SendRemoteCommEvent(typ, data string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, [2]string{typ, data})
	return nil
}

func (b *fakeBackend) LogFile(name string, ch protocol.Channel) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.find(name)
	if err != nil {
		return "", err
	}
	return p.info.LogFiles[ch], nil
}

func (b *fakeBackend) ClearProcessLogs(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.find(name)
	if err != nil {
		return err
	}
	for _, f := range p.info.LogFiles {
		if f != "" {
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				return &engine.Error{Kind: engine.ErrFailed, Detail: name}
			}
		}
	}
	return nil
}

func (b *fakeBackend) ClearAllProcessLogs() []engine.Outcome {
	out := []engine.Outcome{}
	for _, p := range b.procs {
		out = append(out, resultOf(p, b.ClearProcessLogs(p.info.Group+":"+p.info.Name)))
	}
	return out
}

// usage is the fake's resources of p: running processes use 25% of a
// CPU and 3 GiB (beyond 32 bits in bytes) in 2 processes; "cat" has a
// 64 MiB cgroup and a 4 GiB rss_limit.
func (b *fakeBackend) usage(p *fakeProc) engine.ProcessResources {
	r := engine.ProcessResources{ProcessStatus: p.info, Usage: engine.ProcessUsage{CPUPercent: -1, CgroupMemory: -1}}
	if p.info.PID != 0 {
		r.Usage = engine.ProcessUsage{Processes: 2, CPU: 1500 * time.Millisecond, CPUTotal: 4 * time.Second, CPUPercent: 25,
			RSS: 3 << 30, CgroupMemory: -1, Sampled: time.Unix(fakeStart+100, 0)}
	}
	if p.info.Name == "cat" {
		r.RSSLimit, r.Usage.CgroupMemory = 4<<30, 64<<20
	}
	return r
}

func (b *fakeBackend) ProcessResources(name string, _ time.Duration) (engine.ProcessResources, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.find(name)
	if err != nil {
		return engine.ProcessResources{}, err
	}
	return b.usage(p), nil
}

func (b *fakeBackend) Resources(time.Duration) ([]engine.ProcessResources, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]engine.ProcessResources, len(b.procs))
	for i, p := range b.procs {
		out[i] = b.usage(p)
	}
	return out, nil
}

// ProcessExits: "cat" has been OOM-killed once, with output; the others
// have no exit.
func (b *fakeBackend) ProcessExits(name string) ([]engine.ExitRecord, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.find(name)
	if err != nil {
		return nil, err
	}
	if p.info.Name != "cat" {
		return []engine.ExitRecord{}, nil
	}
	return []engine.ExitRecord{{Time: time.Unix(fakeStart+50, 0), PID: 77, Uptime: 42500 * time.Millisecond, ExitStatus: -1,
		Signal: 9, How: "terminated by SIGKILL", Reason: engine.ExitOOMKill, Stdout: []string{"allocating", "more"}}}, nil
}
