package webui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/engine"
)

// fakeBackend is an in-memory Backend whose processes really change
// state when started and stopped, and whose stdout logs are real files.
type fakeBackend struct {
	mu      sync.Mutex
	procs   map[string]*engine.ProcessStatus // by namespec
	logs    map[string]string                // namespec → stdout log path
	errLogs map[string]string                // namespec → stderr log path
	calls   []string                         // "start name", "stop name", ... in order
	nextPID int
	// startErr, when set for a name, is returned by StartProcess.
	startErr map[string]error
}

// fakeProc describes one process of a fakeBackend.
type fakeProc struct {
	group, name string
	state       protocol.ProcessState
	log         string // stdout content; "-" means no log file
	errLog      string // stderr content; "" means no log file
}

func newFakeBackend(t *testing.T, procs ...fakeProc) *fakeBackend {
	t.Helper()
	dir := t.TempDir()
	b := &fakeBackend{procs: map[string]*engine.ProcessStatus{}, logs: map[string]string{}, errLogs: map[string]string{},
		nextPID: 1000, startErr: map[string]error{}}
	for i, p := range procs {
		ns := namespec(p.group, p.name)
		info := &engine.ProcessStatus{Group: p.group, Name: p.name}
		b.setState(info, p.state)
		b.procs[ns] = info
		if p.log != "-" {
			path := filepath.Join(dir, fmt.Sprintf("proc%d-stdout.log", i))
			if err := os.WriteFile(path, []byte(p.log), 0o600); err != nil {
				t.Fatal(err)
			}
			b.logs[ns] = path
		}
		if p.errLog != "" {
			path := filepath.Join(dir, fmt.Sprintf("proc%d-stderr.log", i))
			if err := os.WriteFile(path, []byte(p.errLog), 0o600); err != nil {
				t.Fatal(err)
			}
			b.errLogs[ns] = path
		}
	}
	return b
}

// setState moves info to state; b.mu must be held (or b unshared).
func (b *fakeBackend) setState(info *engine.ProcessStatus, state protocol.ProcessState) {
	info.State = state
	info.PID, info.SpawnErr = 0, ""
	switch state {
	case protocol.StateRunning:
		b.nextPID++
		info.PID = b.nextPID
		info.Started = fixedNow().Add(-time.Second)
	case protocol.StateFatal:
		info.SpawnErr = "Exited too quickly (process log may have details)"
	default:
		info.Started, info.Stopped = fixedNow().Add(-time.Minute), fixedNow()
	}
}

func (b *fakeBackend) record(call string) { b.calls = append(b.calls, call) }

// Calls returns the backend calls made so far.
func (b *fakeBackend) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

// StateOf returns the state name of a process.
func (b *fakeBackend) StateOf(name string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := b.procs[name]; p != nil {
		return p.State.String()
	}
	return ""
}

func (b *fakeBackend) lookup(name string) (*engine.ProcessStatus, error) {
	p := b.procs[name]
	if p == nil {
		return nil, &engine.Error{Kind: engine.ErrNoSuchName, Detail: name}
	}
	return p, nil
}

func (b *fakeBackend) State() protocol.SupervisorState { return protocol.SupervisorRunning }
func (b *fakeBackend) Identification() string          { return "supervisor" }

func (b *fakeBackend) Process(name string) (engine.ProcessStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.lookup(name)
	if err != nil {
		return engine.ProcessStatus{}, err
	}
	return *p, nil
}

func (b *fakeBackend) Processes() ([]engine.ProcessStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]engine.ProcessStatus, 0, len(b.procs))
	for _, p := range b.procs {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func (b *fakeBackend) StartProcess(_ context.Context, name string, _ bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("start " + name)
	p, err := b.lookup(name)
	if err != nil {
		return err
	}
	if err := b.startErr[name]; err != nil {
		return err
	}
	if p.State == protocol.StateRunning || p.State == protocol.StateStarting || p.State == protocol.StateStopping || p.State == protocol.StateBackoff {
		return &engine.Error{Kind: engine.ErrAlreadyStarted, Detail: name}
	}
	b.setState(p, protocol.StateRunning)
	return nil
}

func (b *fakeBackend) StopProcess(_ context.Context, name string, _ bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("stop " + name)
	p, err := b.lookup(name)
	if err != nil {
		return err
	}
	if p.State != protocol.StateRunning && p.State != protocol.StateStarting && p.State != protocol.StateBackoff {
		return &engine.Error{Kind: engine.ErrNotRunning, Detail: name}
	}
	b.setState(p, protocol.StateStopped)
	return nil
}

func (b *fakeBackend) StartAllProcesses(ctx context.Context, wait bool) ([]engine.Outcome, error) {
	b.mu.Lock()
	b.record("startall")
	b.mu.Unlock()
	procs, _ := b.Processes()
	for _, p := range procs {
		_ = b.StartProcess(ctx, namespec(p.Group, p.Name), wait)
	}
	return nil, nil
}

func (b *fakeBackend) StopAllProcesses(ctx context.Context, wait bool) ([]engine.Outcome, error) {
	b.mu.Lock()
	b.record("stopall")
	b.mu.Unlock()
	procs, _ := b.Processes()
	for _, p := range procs {
		_ = b.StopProcess(ctx, namespec(p.Group, p.Name), wait)
	}
	return nil, nil
}

func (b *fakeBackend) LogFile(name string, ch protocol.Channel) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.lookup(name); err != nil {
		return "", err
	}
	if ch == protocol.Stderr {
		return b.errLogs[name], nil
	}
	return b.logs[name], nil
}

func (b *fakeBackend) ClearProcessLogs(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("clearlog " + name)
	if _, err := b.lookup(name); err != nil {
		return err
	}
	if path := b.logs[name]; path != "" {
		return os.Truncate(path, 0)
	}
	return nil
}

// appendLog adds output to a process's stdout log.
func (b *fakeBackend) appendLog(t *testing.T, name, text string) {
	t.Helper()
	b.mu.Lock()
	path := b.logs[name]
	b.mu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

var _ Backend = (*fakeBackend)(nil)

// Resources gives every running process a fixed usage: 12.5% of a CPU,
// 3 processes, 48 MiB.
func (b *fakeBackend) Resources(time.Duration) ([]engine.ProcessResources, error) {
	procs, _ := b.Processes()
	out := make([]engine.ProcessResources, len(procs))
	for i, p := range procs {
		out[i] = engine.ProcessResources{ProcessStatus: p, Usage: engine.ProcessUsage{CPUPercent: -1, CgroupMemory: -1}}
		if p.PID != 0 {
			out[i].Usage = engine.ProcessUsage{Processes: 3, CPU: 2 * time.Second, CPUPercent: 12.5, RSS: 48 << 20, CgroupMemory: -1, Sampled: time.Now()}
		}
	}
	return out, nil
}

// ProcessExits: a process named "crashy" has two exits, one an OOM kill
// with output; others none.
func (b *fakeBackend) ProcessExits(name string) ([]engine.ExitRecord, error) {
	if _, err := b.lookup(name); err != nil {
		return nil, err
	}
	if name != "crashy" {
		return nil, nil
	}
	at := time.Date(2026, 11, 30, 2, 14, 28, 0, time.Local)
	return []engine.ExitRecord{
		{Time: at, PID: 4242, Uptime: 90 * time.Second, ExitStatus: -1, Signal: 9, How: "terminated by SIGKILL", Reason: engine.ExitOOMKill,
			Stdout: []string{"allocating <more>"}, Stderr: []string{"MemoryError?"}},
		{Time: at.Add(-time.Minute), PID: 4100, Uptime: 2 * time.Second, ExitStatus: 3, How: "exit status 3", Stdout: []string{}, Stderr: []string{}},
	}, nil
}
