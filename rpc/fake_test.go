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
)

// fakeBackend is an in-memory daemon: enough state for the dispatcher's
// and the stock clients' observable behaviour.
type fakeBackend struct {
	mu       sync.Mutex
	state    State
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

const (
	procStopped  = 0
	procStarting = 10
	procRunning  = 20
	procBackoff  = 30
	procStopping = 40
	procExited   = 100
	procFatal    = 200
)

var procStateNames = map[int]string{
	procStopped: "STOPPED", procStarting: "STARTING", procRunning: "RUNNING", procBackoff: "BACKOFF",
	procStopping: "STOPPING", procExited: "EXITED", procFatal: "FATAL",
}

// newFakeBackend builds: cat (running, own group), grp:a (stopped, never
// started), grp:b (running), failer (fatal) and nofile (stopped, its
// command missing). Log files live in dir.
func newFakeBackend(t testing.TB) *fakeBackend {
	dir := t.TempDir()
	mk := func(group, name string, state, pid int, desc string) *fakeProc {
		out := filepath.Join(dir, name+"-stdout.log")
		errLog := filepath.Join(dir, name+"-stderr.log")
		return &fakeProc{info: ProcessInfo{
			Name: name, Group: group, Description: desc, State: state, StateName: procStateNames[state],
			Start: 1764469000, Now: 1764469005, PID: pid,
			Logfile: out, StdoutLogfile: out, StderrLogfile: errLog,
		}}
	}
	b := &fakeBackend{
		state:   State{Code: 1, Name: "RUNNING"},
		mainLog: filepath.Join(dir, "supervisord.log"),
		stdin:   map[string][]byte{},
		procs: []*fakeProc{
			mk("cat", "cat", procRunning, 4242, "pid 4242, uptime 0:00:05"),
			mk("failer", "failer", procFatal, 0, "Exited too quickly (process log may have details)"),
			mk("grp", "a", procStopped, 0, "Not started"),
			mk("grp", "b", procRunning, 4343, "pid 4343, uptime 0:00:05"),
			mk("nofile", "nofile", procStopped, 0, "Not started"),
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
	return nil, NewFault(FaultBadName, name)
}

func (b *fakeBackend) group(group string) ([]*fakeProc, error) {
	var out []*fakeProc
	for _, p := range b.procs {
		if p.info.Group == group {
			out = append(out, p)
		}
	}
	if out == nil {
		return nil, NewFault(FaultBadName, group)
	}
	return out, nil
}

func (b *fakeBackend) setState(code int, name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state = State{Code: code, Name: name}
}

func (b *fakeBackend) State() State {
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
	b.setState(-1, "SHUTDOWN")
	return nil
}
func (b *fakeBackend) Restart() error {
	if b.restartErr != nil {
		return b.restartErr
	}
	b.setState(0, "RESTARTING")
	return nil
}
func (b *fakeBackend) ReloadConfig() ([]string, []string, []string, error) {
	return b.reload[0], b.reload[1], b.reload[2], nil
}
func (b *fakeBackend) AddProcessGroup(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.group(name); err == nil {
		return NewFault(FaultAlreadyAdded, name)
	}
	if name != "newgrp" {
		return NewFault(FaultBadName, name)
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
		if p.info.State == procRunning {
			return NewFault(FaultStillRunning, name)
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
		return NewFault(FaultNoFile, "no such file: /bin/"+p.info.Name)
	case p.info.State == procRunning || p.info.State == procStarting || p.info.State == procBackoff:
		return NewFault(FaultAlreadyStarted, name)
	case p.failing:
		return NewFault(FaultSpawnError, name)
	}
	p.info.State, p.info.StateName = procRunning, "RUNNING"
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
	r := Result{Name: p.info.Name, Group: p.info.Group, Status: FaultSuccess, Description: "OK"}
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
		if p.info.State == procRunning {
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
	if p.info.State != procRunning {
		return NewFault(FaultNotRunning, name)
	}
	p.info.State, p.info.StateName, p.info.PID = procStopped, "STOPPED", 0
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
		if p.info.State == procRunning {
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
		return NewFault(FaultBadSignal, sig)
	}
	if p.info.State != procRunning {
		return NewFault(FaultNotRunning, name)
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
		if p.info.State == procRunning {
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
		return NewFault(FaultNotRunning, name)
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
				return NewFault(FaultFailed, name)
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
