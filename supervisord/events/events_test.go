package events

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestTypeHierarchy(t *testing.T) {
	tests := []struct {
		typ, super Type
		want       bool
	}{
		{ProcessStateRunning, ProcessState, true},
		{ProcessStateRunning, Event, true},
		{ProcessStateRunning, ProcessStateRunning, true},
		{ProcessStateRunning, ProcessStateExited, false},
		{ProcessStateRunning, ProcessLog, false},
		{ProcessLogStderr, ProcessLog, true},
		{ProcessCommunicationStdout, ProcessCommunication, true},
		{ProcessCommunicationStdout, ProcessLog, false},
		{RemoteCommunication, Event, true},
		{SupervisorStateChangeStopping, SupervisorStateChange, true},
		{Tick60, Tick, true},
		{Tick60, Tick5, false},
		{ProcessGroupRemoved, ProcessGroup, true},
		{Event, ProcessState, false},
		{Type(-1), Event, false},
		// gosupervisor's own types are not under EVENT: stock listeners
		// subscribed to everything never see them.
		{ProcessNotifyReady, ProcessNotify, true},
		{ProcessNotifyWatchdog, ProcessNotify, true},
		{ProcessNotifyStatus, Event, false},
		{ProcessNotify, Event, false},
		{ProcessHealthUnhealthy, ProcessHealth, true},
		{ProcessHealthHealthy, Event, false},
		{ProcessHealthHealthy, ProcessNotify, false},
		{ProcessStateRunning, ProcessHealth, false},
		// gosupervisor's own types are outside EVENT's tree.
		{ProcessResourceOOM, ProcessResource, true},
		{ProcessResourceRSSLimit, ProcessResource, true},
		{ProcessResourceOOM, Event, false},
		{ProcessResource, Event, false},
		{ProcessExitRecord, ProcessExitRecord, true},
		{ProcessExitRecord, Event, false},
		{ProcessExitRecord, ProcessResource, false},
		{ProcessStateExited, ProcessResource, false},
		{SupervisorUpgradeSucceeded, SupervisorUpgrade, true},
		{SupervisorUpgradeFailed, SupervisorUpgrade, true},
		{SupervisorUpgradeFailed, Event, false},
		{SupervisorUpgrade, Event, false},
		{SupervisorUpgradeSucceeded, SupervisorStateChange, false},
	}
	for _, tt := range tests {
		if got := tt.typ.Is(tt.super); got != tt.want {
			t.Errorf("%v.Is(%v) = %v, want %v", tt.typ, tt.super, got, tt.want)
		}
	}
}

func TestParseType(t *testing.T) {
	tests := []struct {
		name     string
		want     Type
		wantOK   bool
		abstract bool
	}{
		{"PROCESS_STATE", ProcessState, true, true},
		{"process_state_exited", ProcessStateExited, true, false},
		{" Tick_5 ", Tick5, true, false},
		{"TICK", Tick, true, true},
		{"EVENT", Event, true, true},
		{"REMOTE_COMMUNICATION", RemoteCommunication, true, false},
		{"PROCESS_GROUP_ADDED", ProcessGroupAdded, true, false},
		{"PROCESS_NOTIFY", ProcessNotify, true, true},
		{"process_notify_watchdog", ProcessNotifyWatchdog, true, false},
		{"PROCESS_HEALTH", ProcessHealth, true, true},
		{"PROCESS_HEALTH_UNHEALTHY", ProcessHealthUnhealthy, true, false},
		{"PROCESS_RESOURCE", ProcessResource, true, true},
		{"process_resource_oom", ProcessResourceOOM, true, false},
		{"PROCESS_RESOURCE_RSS_LIMIT", ProcessResourceRSSLimit, true, false},
		{"PROCESS_EXIT_RECORD", ProcessExitRecord, true, false},
		{"SUPERVISOR_UPGRADE", SupervisorUpgrade, true, true},
		{"supervisor_upgrade_failed", SupervisorUpgradeFailed, true, false},
		{"TICK_10", 0, false, false},
		{"", 0, false, false},
	}
	for _, tt := range tests {
		got, ok := ParseType(tt.name)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseType(%q) = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
		if ok && got.Abstract() != tt.abstract {
			t.Errorf("%v.Abstract() = %v", got, got.Abstract())
		}
	}
	// Every type round-trips through its name.
	for typ := range numTypes {
		if got, ok := ParseType(typ.String()); !ok || got != typ {
			t.Errorf("round trip of %v gave %v, %v", typ, got, ok)
		}
	}
}

func TestForProcessState(t *testing.T) {
	tests := []struct {
		state  string
		want   Type
		wantOK bool
	}{
		{"STOPPED", ProcessStateStopped, true},
		{"UNKNOWN", ProcessStateUnknown, true},
		{"FATAL", ProcessStateFatal, true},
		{"", 0, false},
		{"SLEEPING", 0, false},
	}
	for _, tt := range tests {
		got, ok := ForProcessState(tt.state)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ForProcessState(%q) = %v, %v", tt.state, got, ok)
		}
	}
}

// The payloads are the reference's, byte for byte (observed on 4.2.5).
func TestStateChangePayload(t *testing.T) {
	base := StateChange{Process: "prog", Group: "grp", Tries: 2, PID: 1234}
	tests := []struct {
		from string
		to   Type
		exp  bool
		want string
	}{
		{"STOPPED", ProcessStateStarting, false, "processname:prog groupname:grp from_state:STOPPED tries:2"},
		{"STARTING", ProcessStateRunning, false, "processname:prog groupname:grp from_state:STARTING pid:1234"},
		{"STARTING", ProcessStateBackoff, false, "processname:prog groupname:grp from_state:STARTING tries:2"},
		{"RUNNING", ProcessStateStopping, false, "processname:prog groupname:grp from_state:RUNNING pid:1234"},
		{"RUNNING", ProcessStateExited, true, "processname:prog groupname:grp from_state:RUNNING expected:1 pid:1234"},
		{"RUNNING", ProcessStateExited, false, "processname:prog groupname:grp from_state:RUNNING expected:0 pid:1234"},
		{"STOPPING", ProcessStateStopped, false, "processname:prog groupname:grp from_state:STOPPING pid:1234"},
		{"BACKOFF", ProcessStateFatal, false, "processname:prog groupname:grp from_state:BACKOFF"},
		{"STOPPING", ProcessStateUnknown, false, "processname:prog groupname:grp from_state:STOPPING"},
	}
	for _, tt := range tests {
		s := base
		s.From, s.To, s.Expected = tt.from, tt.to, tt.exp
		if got := s.Payload(); got != tt.want {
			t.Errorf("%v from %s:\n got %q\nwant %q", tt.to, tt.from, got, tt.want)
		}
	}
}

func TestPayloads(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"log", LogPayload("p", "g", 7, "stdout", []byte("hi\n")), "processname:p groupname:g pid:7 channel:stdout\nhi\n"},
		{"log undecodable", LogPayload("p", "g", 7, "stderr", []byte("a\xff'")), "processname:p groupname:g pid:7 channel:stderr\nUndecodable: b\"a\\xff'\""},
		{"comm", CommPayload("p", "g", 7, []byte("captured")), "processname:p groupname:g pid:7\ncaptured"},
		{"remote", RemoteCommPayload("mytype", "héllo data"), "type:mytype\nhéllo data"},
		{"group", GroupPayload("lis"), "groupname:lis\n"},
		{"tick", TickPayload(1796014810), "when:1796014810"},
		{"ready", NotifyReadyPayload("p", "g", 7), "processname:p groupname:g pid:7"},
		{"status", NotifyStatusPayload("p", "g", 7, "warming up: 40%"), "processname:p groupname:g pid:7\nwarming up: 40%"},
		{"status cleared", NotifyStatusPayload("p", "g", 7, ""), "processname:p groupname:g pid:7\n"},
		{"watchdog", NotifyWatchdogPayload("p", "g", 7, "timeout"), "processname:p groupname:g pid:7 reason:timeout"},
		{"health", HealthPayload("p", "g", 7, 3, "HTTP 503"), "processname:p groupname:g pid:7 failures:3\nHTTP 503"},
		{"resource", ResourcePayload("p", "g", 7, "rss:70123520 rss_limit:67108864"), "processname:p groupname:g pid:7 rss:70123520 rss_limit:67108864"},
		{"exit record", ExitRecord{Process: "p", Group: "g", PID: 7, ExitStatus: -1, Signal: "SIGKILL", Uptime: 1.5,
			Reason: "possible oom-kill", Stdout: []string{"a", "b c"}, Stderr: []string{"oops"}}.Payload(),
			"processname:p groupname:g pid:7 expected:0 stopped:0 exitstatus:-1 signal:SIGKILL uptime:1.500 stdout_lines:2 stderr_lines:1\npossible oom-kill\na\nb c\noops"},
		{"exit record, no output", ExitRecord{Process: "p", Group: "g", PID: 7, Expected: true, Stopped: true}.Payload(),
			"processname:p groupname:g pid:7 expected:1 stopped:1 exitstatus:0 signal:none uptime:0.000 stdout_lines:0 stderr_lines:0\n"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestTimeslice(t *testing.T) {
	tests := []struct{ period, now, want int64 }{
		{5, 1796014812, 1796014810},
		{5, 1796014810, 1796014810},
		{60, 1796014812, 1796014800},
		{3600, 1796014812, 1796014800 - 1796014800%3600},
	}
	for _, tt := range tests {
		if got := Timeslice(tt.period, tt.now); got != tt.want {
			t.Errorf("Timeslice(%d, %d) = %d, want %d", tt.period, tt.now, got, tt.want)
		}
	}
}

func TestEnvelope(t *testing.T) {
	tests := []struct {
		env  Envelope
		want string
	}{
		{
			Envelope{Server: "supervisor", Serial: 0, Pool: "lis", PoolSerial: 0, Type: ProcessGroupAdded, Payload: "groupname:lis\n"},
			"ver:3.0 server:supervisor serial:0 pool:lis poolserial:0 eventname:PROCESS_GROUP_ADDED len:14\ngroupname:lis\n",
		},
		{
			Envelope{Server: "id", Serial: 13, Pool: "p", PoolSerial: 4, Type: SupervisorStateChangeStopping},
			"ver:3.0 server:id serial:13 pool:p poolserial:4 eventname:SUPERVISOR_STATE_CHANGE_STOPPING len:0\n",
		},
		{
			// len counts characters, as the reference (a Python str) does.
			Envelope{Server: "supervisor", Serial: 12, Pool: "lis", PoolSerial: 12, Type: RemoteCommunication, Payload: "type:mytype\nhéllo data"},
			"ver:3.0 server:supervisor serial:12 pool:lis poolserial:12 eventname:REMOTE_COMMUNICATION len:22\ntype:mytype\nhéllo data",
		},
	}
	for _, tt := range tests {
		if got := string(tt.env.Bytes()); got != tt.want {
			t.Errorf("envelope:\n got %q\nwant %q", got, tt.want)
		}
	}
}

func TestSerial(t *testing.T) {
	var s Serial
	for want := range int64(3) {
		if got := s.Next(); got != want {
			t.Fatalf("Next = %d, want %d", got, want)
		}
	}
	s = Serial{next: math.MaxInt64}
	if got := s.Next(); got != math.MaxInt64 {
		t.Fatalf("Next = %d, want maxint", got)
	}
	if got := s.Next(); got != 0 {
		t.Fatalf("after maxint Next = %d, want 0", got)
	}
}

// TestPoolRestore: a pool restored from its entries and serial count, and
// an event restored with its serial, go on numbering where they left off.
func TestPoolRestore(t *testing.T) {
	var global Serial
	p := NewPool("p", []Type{Event}, 3)
	for i := range 5 {
		p.Accept(New(RemoteCommunication, fmt.Sprint(i)), &global)
	}
	var restoredGlobal Serial
	restoredGlobal.Restore(global.Peek())
	q := NewPool("p", []Type{Event}, 3)
	var entries []Entry
	for _, e := range p.Entries() {
		entries = append(entries, Entry{Event: Restored(e.Event.Type, e.Event.Payload, e.Event.Serial()), PoolSerial: e.PoolSerial})
	}
	q.Restore(entries, p.NextSerial())
	p.Accept(New(RemoteCommunication, "next"), &global)
	q.Accept(New(RemoteCommunication, "next"), &restoredGlobal)
	for {
		a, aok := p.Pop()
		b, bok := q.Pop()
		if aok != bok {
			t.Fatalf("pools differ in length")
		}
		if !aok {
			break
		}
		if a.Event.Serial() != b.Event.Serial() || a.PoolSerial != b.PoolSerial || a.Event.Payload != b.Event.Payload {
			t.Errorf("entry %+v/%d, restored %+v/%d", a.Event, a.Event.Serial(), b.Event, b.Event.Serial())
		}
	}
	if got := Restored(RemoteCommunication, "", -1).Serial(); got != -1 {
		t.Errorf("restored without serial: %d", got)
	}
	small := NewPool("s", []Type{Event}, 1)
	small.Restore(entries, 9)
	if e, _ := small.Peek(); small.Len() != 1 || e.PoolSerial != entries[len(entries)-1].PoolSerial {
		t.Errorf("a smaller buffer keeps %d entries (head %+v), want the newest one", small.Len(), e)
	}
}

func TestPoolSubscribes(t *testing.T) {
	p := NewPool("x", []Type{ProcessState, Tick60, RemoteCommunication}, 10)
	tests := []struct {
		typ  Type
		want bool
	}{
		{ProcessStateFatal, true},
		{Tick60, true},
		{Tick5, false},
		{RemoteCommunication, true},
		{ProcessLogStdout, false},
		{ProcessGroupAdded, false},
	}
	for _, tt := range tests {
		if got := p.Subscribes(tt.typ); got != tt.want {
			t.Errorf("Subscribes(%v) = %v", tt.typ, got)
		}
	}
	// EVENT is everything Supervisor has, not gosupervisor's own types;
	// a listener that names them (or their root) gets them.
	all := NewPool("all", []Type{Event}, 10)
	health := NewPool("health", []Type{ProcessHealth, ProcessNotifyReady}, 10)
	own := NewPool("own", []Type{ProcessResource, ProcessExitRecord}, 10)
	for _, tt := range []struct {
		p    *Pool
		typ  Type
		want bool
	}{
		{all, ProcessStateRunning, true},
		{all, ProcessHealthUnhealthy, false},
		{all, ProcessNotifyStatus, false},
		{health, ProcessHealthUnhealthy, true},
		{health, ProcessHealthHealthy, true},
		{health, ProcessNotifyReady, true},
		{health, ProcessNotifyStatus, false},
		{health, ProcessStateRunning, false},
		{health, ProcessResourceOOM, false},
		{all, ProcessResourceOOM, false},
		{all, ProcessResourceRSSLimit, false},
		{all, ProcessExitRecord, false},
		{own, ProcessResourceOOM, true},
		{own, ProcessResourceRSSLimit, true},
		{own, ProcessExitRecord, true},
		{own, ProcessHealthHealthy, false},
		{all, SupervisorUpgradeSucceeded, false},
		{all, SupervisorUpgradeFailed, false},
		{health, SupervisorUpgradeFailed, false},
	} {
		if got := tt.p.Subscribes(tt.typ); got != tt.want {
			t.Errorf("Subscribes(%v) = %v (pool %p)", tt.typ, got, tt.p)
		}
	}
}

func TestPoolSerialsAndOverflow(t *testing.T) {
	var global Serial
	a := NewPool("a", []Type{Event}, 2)
	b := NewPool("b", []Type{Event}, 10)
	e1, e2, e3 := New(Tick5, "when:5"), New(Tick5, "when:10"), New(Tick5, "when:15")
	if e1.Serial() != -1 {
		t.Fatalf("unaccepted serial = %d, want -1", e1.Serial())
	}
	// b sees e1 first; a sees it next with the same global serial.
	b.Accept(e1, &global)
	a.Accept(e1, &global)
	a.Accept(e2, &global)
	dropped, ok := a.Accept(e3, &global)
	if !ok || dropped.Event != e1 || dropped.Event.Serial() != 0 {
		t.Fatalf("overflow dropped %+v, %v; want e1 (serial 0)", dropped, ok)
	}
	wantSerials := []struct {
		ev              *Emitted
		global, poolSer int64
		pool            *Pool
	}{
		{e2, 1, 1, a},
		{e3, 2, 2, a},
	}
	for _, w := range wantSerials {
		got, _ := w.pool.Pop()
		if got.Event != w.ev || got.Event.Serial() != w.global || got.PoolSerial != w.poolSer {
			t.Errorf("pop = %+v (serial %d), want serial %d poolserial %d", got, got.Event.Serial(), w.global, w.poolSer)
		}
	}
	if got, _ := b.Pop(); got.Event != e1 || got.PoolSerial != 0 {
		t.Errorf("b pop = %+v", got)
	}
	if _, ok := a.Pop(); ok {
		t.Error("a should be empty")
	}
}

func TestPoolRequeue(t *testing.T) {
	var global Serial
	p := NewPool("p", []Type{Event}, 2)
	e1, e2, e3 := New(Tick5, "1"), New(Tick5, "2"), New(Tick5, "3")
	p.Accept(e1, &global)
	p.Accept(e2, &global)
	first, _ := p.Pop()
	// Refused: back at the head, same serials.
	if _, ok := p.Requeue(first); ok {
		t.Fatal("requeue into a buffer with room dropped something")
	}
	if got, _ := p.Peek(); got.Event != e1 || got.PoolSerial != 0 {
		t.Fatalf("head after requeue = %+v", got)
	}
	// A full buffer drops its oldest (the head) before requeueing.
	p.Pop()
	p.Accept(e3, &global) // buffer: e2, e3
	dropped, ok := p.Requeue(first)
	if !ok || dropped.Event != e2 {
		t.Fatalf("requeue into full buffer dropped %+v, %v; want e2", dropped, ok)
	}
	var order []string
	for p.Len() > 0 {
		e, _ := p.Pop()
		order = append(order, e.Event.Payload)
	}
	if got := strings.Join(order, ","); got != "1,3" {
		t.Fatalf("order = %s, want 1,3", got)
	}
}

func TestListenerProtocol(t *testing.T) {
	st := func(from, to ListenerState) Step { return Step{Kind: StepState, From: from, To: to} }
	processed := Step{Kind: StepProcessed}
	requeue := Step{Kind: StepRequeue}
	tests := []struct {
		name      string
		busyAfter int // after this many feeds the engine dispatches (READY -> BUSY); -1 never
		feeds     []string
		want      []Step
		wantState ListenerState
	}{
		{"ready", -1, []string{"READY\n"}, []Step{st(ListenerAcknowledged, ListenerReady)}, ListenerReady},
		{"ready split", -1, []string{"REA", "DY", "\n"}, []Step{st(ListenerAcknowledged, ListenerReady)}, ListenerReady},
		{"garbage while acknowledged", -1, []string{"HELLO!"}, []Step{st(ListenerAcknowledged, ListenerUnknown)}, ListenerUnknown},
		{"short garbage waits", -1, []string{"HELLO"}, nil, ListenerAcknowledged},
		{"spurious while ready", -1, []string{"READY\nx"}, []Step{st(ListenerAcknowledged, ListenerReady), st(ListenerReady, ListenerUnknown)}, ListenerUnknown},
		{"unknown swallows", -1, []string{"nonsense", "READY\n"}, []Step{st(ListenerAcknowledged, ListenerUnknown)}, ListenerUnknown},
		{"ok", 1, []string{"READY\n", "RESULT 2\nOK"}, []Step{st(ListenerAcknowledged, ListenerReady), processed, st(ListenerBusy, ListenerAcknowledged)}, ListenerAcknowledged},
		{"ok then ready in one write", 1, []string{"READY\n", "RESULT 2\nOKREADY\n"},
			[]Step{st(ListenerAcknowledged, ListenerReady), processed, st(ListenerBusy, ListenerAcknowledged), st(ListenerAcknowledged, ListenerReady)}, ListenerReady},
		{"result split everywhere", 1, []string{"READY\n", "RESU", "LT 2", "\nO", "K"}, []Step{st(ListenerAcknowledged, ListenerReady), processed, st(ListenerBusy, ListenerAcknowledged)}, ListenerAcknowledged},
		{"fail", 1, []string{"READY\n", "RESULT 4\nFAIL"},
			[]Step{st(ListenerAcknowledged, ListenerReady), {Kind: StepRefused, Body: []byte("FAIL")}, st(ListenerBusy, ListenerAcknowledged), requeue}, ListenerAcknowledged},
		{"bad length", 1, []string{"READY\n", "RESULT x\nOK"},
			[]Step{st(ListenerAcknowledged, ListenerReady), {Kind: StepBadResult, Body: []byte("RESULT x")}, st(ListenerBusy, ListenerUnknown), requeue}, ListenerUnknown},
		{"padded length", 1, []string{"READY\n", "RESULT  2 \nOK"}, []Step{st(ListenerAcknowledged, ListenerReady), processed, st(ListenerBusy, ListenerAcknowledged)}, ListenerAcknowledged},
		// RESULT 0 with nothing after it is only decided when more output comes.
		{"empty result waits", 1, []string{"READY\n", "RESULT 0\n"}, []Step{st(ListenerAcknowledged, ListenerReady)}, ListenerBusy},
		{"empty result refused later", 1, []string{"READY\n", "RESULT 0\n", "READY\n"},
			[]Step{st(ListenerAcknowledged, ListenerReady), {Kind: StepRefused, Body: nil}, st(ListenerBusy, ListenerAcknowledged), requeue, st(ListenerAcknowledged, ListenerReady)}, ListenerReady},
		{"long result line", 1, []string{"READY\n", "RESULT " + strings.Repeat("0", MaxResultLine)},
			[]Step{st(ListenerAcknowledged, ListenerReady), {Kind: StepLongResult, Body: []byte("RESULT " + strings.Repeat("0", MaxKeptResult-7))}, st(ListenerBusy, ListenerUnknown), requeue}, ListenerUnknown},
		{"long result line with its newline", 1, []string{"READY\n", "RESULT " + strings.Repeat("0", MaxResultLine) + "2\nOK"},
			[]Step{st(ListenerAcknowledged, ListenerReady), {Kind: StepLongResult, Body: []byte("RESULT " + strings.Repeat("0", MaxKeptResult-7))}, st(ListenerBusy, ListenerUnknown), requeue}, ListenerUnknown},
		{"longest result line", 1, []string{"READY\n", "RESULT " + strings.Repeat("0", MaxResultLine-8) + "2\nOK"},
			[]Step{st(ListenerAcknowledged, ListenerReady), processed, st(ListenerBusy, ListenerAcknowledged)}, ListenerAcknowledged},
		{"long refused result keeps its start", 1, []string{"READY\n", "RESULT 100\n", strings.Repeat("n", 100)},
			[]Step{st(ListenerAcknowledged, ListenerReady), {Kind: StepRefused, Body: []byte(strings.Repeat("n", MaxKeptResult))}, st(ListenerBusy, ListenerAcknowledged), requeue}, ListenerAcknowledged},
		{"OK followed by more is refused", 1, []string{"READY\n", "RESULT 3\nOKK"},
			[]Step{st(ListenerAcknowledged, ListenerReady), {Kind: StepRefused, Body: []byte("OKK")}, st(ListenerBusy, ListenerAcknowledged), requeue}, ListenerAcknowledged},
	}
	for _, tt := range tests {
		// Handed over: a parser restored from a snapshot after every feed
		// (a daemon upgraded in place between two reads) goes on alike.
		for _, handover := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/handover=%v", tt.name, handover), func(t *testing.T) {
				l := NewListener()
				var got []Step
				for i, f := range tt.feeds {
					if i == tt.busyAfter {
						if l.State() != ListenerReady {
							t.Fatalf("dispatch while %v", l.State())
						}
						l.Dispatched()
					}
					got = append(got, l.Feed([]byte(f))...)
					if handover {
						snap := l.Snapshot()
						l = RestoreListener(snap)
						if !reflect.DeepEqual(l.Snapshot(), snap) {
							t.Fatalf("restored %+v, snapshot %+v", l.Snapshot(), snap)
						}
					}
				}
				if !reflect.DeepEqual(normalise(got), normalise(tt.want)) {
					t.Errorf("steps:\n got %+v\nwant %+v", got, tt.want)
				}
				if l.State() != tt.wantState {
					t.Errorf("state = %v, want %v", l.State(), tt.wantState)
				}
			})
		}
	}
}

// TestListenerHugeResultIsCounted feeds 256 MiB of a result announced as
// 999,999,999,999 bytes: the parser counts it without keeping it, so its
// buffers stay small, and the listener stays BUSY as under the reference.
func TestListenerHugeResultIsCounted(t *testing.T) {
	l := NewListener()
	l.Feed([]byte("READY\n"))
	l.Dispatched()
	if steps := l.Feed([]byte("RESULT 999999999999\n")); len(steps) != 0 {
		t.Fatalf("result line: steps %+v", steps)
	}
	chunk := bytes.Repeat([]byte("z"), 128<<10)
	for range 2048 {
		if steps := l.Feed(chunk); len(steps) != 0 {
			t.Fatalf("result bytes: steps %+v", steps)
		}
	}
	if l.State() != ListenerBusy {
		t.Errorf("state %v, want BUSY", l.State())
	}
	if c := cap(l.buf) + cap(l.result); c > MaxResultLine+MaxKeptResult {
		t.Errorf("parser holds %d bytes of buffers after 256 MiB of result", c)
	}
	if l.got != 256<<20 {
		t.Errorf("counted %d bytes, want %d", l.got, 256<<20)
	}
}

func normalise(steps []Step) []Step {
	out := make([]Step, len(steps))
	for i, s := range steps {
		if len(s.Body) == 0 {
			s.Body = nil
		}
		out[i] = s
	}
	return out
}

func TestPyInt(t *testing.T) {
	tests := []struct {
		in     string
		want   int
		wantOK bool
	}{
		{"2", 2, true},
		{" 12\t", 12, true},
		{"+3", 3, true},
		{"1_000", 1000, true},
		{"1__0", 0, false},
		{"_1", 0, false},
		{"1_", 0, false},
		{"-1", 0, false},
		{"", 0, false},
		{"x", 0, false},
		{"2.0", 0, false},
	}
	for _, tt := range tests {
		got, ok := pyInt([]byte(tt.in))
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("pyInt(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestListenerStateString(t *testing.T) {
	tests := map[ListenerState]string{
		ListenerReady: "READY", ListenerBusy: "BUSY", ListenerAcknowledged: "ACKNOWLEDGED", ListenerUnknown: "UNKNOWN", 0: "None",
	}
	for s, want := range tests {
		if s.String() != want {
			t.Errorf("%d.String() = %s, want %s", int(s), s, want)
		}
	}
}

func TestCapture(t *testing.T) {
	out := func(s string) Piece { return Piece{Kind: PieceOutput, Data: []byte(s)} }
	capt := func(s string) Piece { return Piece{Kind: PieceCaptured, Data: []byte(s)} }
	comm := func(s string) Piece { return Piece{Kind: PieceComm, Data: []byte(s)} }
	tests := []struct {
		name   string
		max    int64
		chunks []string
		want   []Piece
	}{
		{"plain", 100, []string{"hello\n"}, []Piece{out("hello\n")}},
		{"one chunk", 100, []string{"hi\n<!--XSUPERVISOR:BEGIN-->captured<!--XSUPERVISOR:END-->\n"},
			[]Piece{out("hi\n"), capt("captured"), comm("captured"), out("\n")}},
		{"tokens split across reads", 100, []string{"a<!--XSUPER", "VISOR:BEGIN-->x", "y<!--XSUPERVISOR:E", "ND-->b"},
			[]Piece{out("a"), capt("x"), capt("y"), comm("xy"), out("b")}},
		{"held prefix that is not a token", 100, []string{"a<!--", "nope"}, []Piece{out("a"), out("<!--nope")}},
		{"empty capture", 100, []string{"<!--XSUPERVISOR:BEGIN--><!--XSUPERVISOR:END-->"}, []Piece{comm("")}},
		{"two captures", 100, []string{"<!--XSUPERVISOR:BEGIN-->1<!--XSUPERVISOR:END--><!--XSUPERVISOR:BEGIN-->2<!--XSUPERVISOR:END-->"},
			[]Piece{capt("1"), comm("1"), capt("2"), comm("2")}},
		// BoundIO: past maxbytes, as many leading bytes as are written are dropped.
		{"maxbytes drops oldest", 5, []string{"<!--XSUPERVISOR:BEGIN-->abc", "def", "<!--XSUPERVISOR:END-->"},
			[]Piece{capt("abc"), capt("def"), comm("def")}},
		{"maxbytes partial drop", 5, []string{"<!--XSUPERVISOR:BEGIN-->abcd", "ef", "<!--XSUPERVISOR:END-->"},
			[]Piece{capt("abcd"), capt("ef"), comm("cdef")}},
	}
	for _, tt := range tests {
		// Handed over: a splitter restored after every chunk goes on alike.
		for _, handover := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/handover=%v", tt.name, handover), func(t *testing.T) {
				c := NewCapture(tt.max)
				var got []Piece
				for _, ch := range tt.chunks {
					buf := []byte(ch)
					got = append(got, c.Feed(buf)...)
					for i := range buf {
						buf[i] = '#' // the caller reuses its chunk
					}
					if handover {
						snap := c.Snapshot()
						c = NewCapture(tt.max)
						c.Restore(snap)
					}
				}
				got = append(got, c.Flush()...)
				if !reflect.DeepEqual(pieceStrings(got), pieceStrings(tt.want)) {
					t.Errorf("pieces:\n got %v\nwant %v", pieceStrings(got), pieceStrings(tt.want))
				}
			})
		}
	}
}

func TestCaptureFlush(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []string
	}{
		{"tail prefix released", []string{"after<!--XSUP"}, []string{"1:after", "1:<!--XSUP"}},
		{"unfinished capture dropped", []string{"<!--XSUPERVISOR:BEGIN-->lost<!--XSUP"}, []string{"2:lost"}},
	}
	for _, tt := range tests {
		c := NewCapture(100)
		var got []Piece
		for _, ch := range tt.chunks {
			got = append(got, c.Feed([]byte(ch))...)
		}
		got = append(got, c.Flush()...)
		if g := pieceStrings(got); !reflect.DeepEqual(g, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, g, tt.want)
		}
	}
}

func pieceStrings(ps []Piece) []string {
	var out []string
	for _, p := range ps {
		out = append(out, string(rune('0'+int(p.Kind)))+":"+string(p.Data))
	}
	return out
}
