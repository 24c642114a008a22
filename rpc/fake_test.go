package rpc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gosupervisor/internal/protocol"
)

// fakeBackend is an in-memory daemon: enough state for the dispatcher's
// and the stock clients' observable behaviour.
type fakeBackend struct {
	mu       sync.Mutex
	state    protocol.SupervisorState
	procs    []*fakeProc // sorted by group, then name
	inactive []ConfigInfo
	mainLog  string
	reload   [3][]string
	stdin    map[string][]byte
	events   [][2]string
	// blockStart makes StartProcess with wait block until ctx ends; the
	// ctx error is then sent here.
	blockStart  string
	startCancel chan error
	// startDelay makes every StartProcess take that long (or until ctx ends).
	startDelay time.Duration
	// restartErr is what Restart returns (a plain error, not a Fault).
	restartErr error
}

type fakeProc struct {
	info    ProcessInfo
	noFile  bool // command missing: start faults NO_FILE
	failing bool // start faults SPAWN_ERROR
}

// newFakeBackend builds: cat (running, own group), grp:a (stopped, never
// started), grp:b (running), failer (fatal) and nofile (stopped, its
// command missing). Log files live in dir.
func newFakeBackend(t testing.TB) *fakeBackend {
	dir := t.TempDir()
	mk := func(group, name string, state protocol.ProcessState, pid int, desc string) *fakeProc {
		out := filepath.Join(dir, name+"-stdout.log")
		errLog := filepath.Join(dir, name+"-stderr.log")
		return &fakeProc{info: ProcessInfo{
			Name: name, Group: group, Description: desc, State: state,
			Start: 1764469000, Now: 1764469005, PID: pid,
			Logfile: out, StdoutLogfile: out, StderrLogfile: errLog,
		}}
	}
	b := &fakeBackend{
		state:   protocol.SupervisorRunning,
		mainLog: filepath.Join(dir, "supervisord.log"),
		stdin:   map[string][]byte{},
		procs: []*fakeProc{
			mk("cat", "cat", protocol.StateRunning, 4242, "pid 4242, uptime 0:00:05"),
			mk("failer", "failer", protocol.StateFatal, 0, "Exited too quickly (process log may have details)"),
			mk("grp", "a", protocol.StateStopped, 0, "Not started"),
			mk("grp", "b", protocol.StateRunning, 4343, "pid 4343, uptime 0:00:05"),
			mk("nofile", "nofile", protocol.StateStopped, 0, "Not started"),
		},
		reload:      [3][]string{{"newgrp"}, {"grp"}, {}},
		startCancel: make(chan error, 1),
	}
	b.procs[1].failing = true
	b.procs[1].info.SpawnErr = "Exited too quickly (process log may have details)"
	b.procs[2].info.Start = 0
	b.procs[4].noFile = true
	b.procs[4].info.Start = 0
	for _, p := range b.procs {
		writeFile(t, p.info.StdoutLogfile, "stdout of "+p.info.Name+"\n")
	}
	writeFile(t, b.procs[0].info.StderrLogfile, "stderr of cat\n")
	writeFile(t, b.mainLog, "2026-11-30 04:00:00,000 INFO supervisord started\n")
	b.procs[4].info.StdoutLogfile, b.procs[4].info.Logfile = "", ""
	b.inactive = []ConfigInfo{{Name: "newgrp", Group: "newgrp", Command: "/bin/true", Directory: "none", UID: "none",
		Autostart: true, GroupPrio: 999, ProcessPrio: 999, StopSignal: 15, ExitCodes: []int{0}, ServerURL: "AUTO",
		StdoutLogfile: "auto", StderrLogfile: "auto"}}
	return b
}

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
	return nil, NewFault(protocol.FaultBadName, name)
}

func (b *fakeBackend) group(group string) ([]*fakeProc, error) {
	var out []*fakeProc
	for _, p := range b.procs {
		if p.info.Group == group {
			out = append(out, p)
		}
	}
	if out == nil {
		return nil, NewFault(protocol.FaultBadName, group)
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
		return NewFault(protocol.FaultAlreadyAdded, name)
	}
	if name != "newgrp" {
		return NewFault(protocol.FaultBadName, name)
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
			return NewFault(protocol.FaultStillRunning, name)
		}
	}
	return nil
}
func (b *fakeBackend) ProcessInfo(name string) (ProcessInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.find(name)
	if err != nil {
		return ProcessInfo{}, err
	}
	return p.info, nil
}
func (b *fakeBackend) AllProcessInfo() []ProcessInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]ProcessInfo, len(b.procs))
	for i, p := range b.procs {
		out[i] = p.info
	}
	return out
}
func (b *fakeBackend) AllConfigInfo() []ConfigInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []ConfigInfo
	for _, p := range b.procs {
		out = append(out, ConfigInfo{
			Name: p.info.Name, Group: p.info.Group, InUse: true, Autostart: p.info.Name != "a",
			Command: "/bin/" + p.info.Name, Directory: "none", UID: "none", ExitCodes: []int{0},
			GroupPrio: 999, ProcessPrio: 999, StopSignal: 15, StopWaitSecs: 10, StartSecs: 1, StartRetries: 3,
			StdoutLogfile: p.info.StdoutLogfile, StderrLogfile: p.info.StderrLogfile, ServerURL: "AUTO",
			StdoutLogfileMaxBytes: 50 << 20, StdoutLogfileBackups: 10, StderrLogfileMaxBytes: 50 << 20,
		})
	}
	return append(out, b.inactive...)
}
func (b *fakeBackend) GroupExists(group string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, err := b.group(group)
	return err == nil
}

func (b *fakeBackend) startLocked(name string, p *fakeProc) error {
	switch {
	case p.noFile:
		return NewFault(protocol.FaultNoFile, "no such file: /bin/"+p.info.Name)
	case p.info.State == protocol.StateRunning || p.info.State == protocol.StateStarting || p.info.State == protocol.StateBackoff:
		return NewFault(protocol.FaultAlreadyStarted, name)
	case p.failing:
		return NewFault(protocol.FaultSpawnError, name)
	}
	p.info.State = protocol.StateRunning
	p.info.PID = 5000 + len(p.info.Name)
	p.info.Description = fmt.Sprintf("pid %d, uptime 0:00:00", p.info.PID)
	return nil
}

func (b *fakeBackend) StartProcess(ctx context.Context, name string, wait bool) error {
	if wait && name == b.blockStart {
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

func resultOf(p *fakeProc, err error) Result {
	r := Result{Name: p.info.Name, Group: p.info.Group, Status: protocol.FaultSuccess, Description: "OK"}
	if f, ok := err.(*Fault); ok {
		r.Status, r.Description = f.Code, f.String
	}
	return r
}

func (b *fakeBackend) StartProcessGroup(_ context.Context, group string, _ bool) ([]Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ps, err := b.group(group)
	if err != nil {
		return nil, err
	}
	return b.startAll(ps), nil
}

func (b *fakeBackend) startAll(ps []*fakeProc) []Result {
	out := []Result{}
	for _, p := range ps {
		if p.info.State == protocol.StateRunning {
			continue
		}
		out = append(out, resultOf(p, b.startLocked(p.info.Group+":"+p.info.Name, p)))
	}
	return out
}

func (b *fakeBackend) StartAllProcesses(context.Context, bool) ([]Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.startAll(b.procs), nil
}

func (b *fakeBackend) stopLocked(name string, p *fakeProc) error {
	if p.info.State != protocol.StateRunning {
		return NewFault(protocol.FaultNotRunning, name)
	}
	p.info.State, p.info.PID = protocol.StateStopped, 0
	p.info.Description = "Nov 30 04:00 AM"
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

func (b *fakeBackend) stopAll(ps []*fakeProc) []Result {
	out := []Result{}
	for _, p := range ps {
		if p.info.State == protocol.StateRunning {
			out = append(out, resultOf(p, b.stopLocked(p.info.Name, p)))
		}
	}
	return out
}

func (b *fakeBackend) StopProcessGroup(_ context.Context, group string, _ bool) ([]Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ps, err := b.group(group)
	if err != nil {
		return nil, err
	}
	return b.stopAll(ps), nil
}

func (b *fakeBackend) StopAllProcesses(context.Context, bool) ([]Result, error) {
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
		return NewFault(protocol.FaultBadSignal, sig)
	}
	if p.info.State != protocol.StateRunning {
		return NewFault(protocol.FaultNotRunning, name)
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

func (b *fakeBackend) signalAll(ps []*fakeProc, sig string) []Result {
	out := []Result{}
	for _, p := range ps {
		if p.info.State == protocol.StateRunning {
			out = append(out, resultOf(p, b.signalLocked(p.info.Name, p, sig)))
		}
	}
	return out
}

func (b *fakeBackend) SignalProcessGroup(group, sig string) ([]Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ps, err := b.group(group)
	if err != nil {
		return nil, err
	}
	return b.signalAll(ps, sig), nil
}

func (b *fakeBackend) SignalAllProcesses(sig string) ([]Result, error) {
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
		return NewFault(protocol.FaultNotRunning, name)
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

func (b *fakeBackend) LogFile(name, channel string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.find(name)
	if err != nil {
		return "", err
	}
	if channel == "stderr" {
		return p.info.StderrLogfile, nil
	}
	return p.info.StdoutLogfile, nil
}

func (b *fakeBackend) ClearProcessLogs(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.find(name)
	if err != nil {
		return err
	}
	for _, f := range []string{p.info.StdoutLogfile, p.info.StderrLogfile} {
		if f != "" {
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				return NewFault(protocol.FaultFailed, name)
			}
		}
	}
	return nil
}

func (b *fakeBackend) ClearAllProcessLogs() []Result {
	out := []Result{}
	for _, p := range b.procs {
		out = append(out, resultOf(p, b.ClearProcessLogs(p.info.Group+":"+p.info.Name)))
	}
	return out
}
