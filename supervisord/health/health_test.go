package health

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

var (
	ok   = Result{OK: true, Reason: "HTTP 200"}
	fail = Result{Reason: "HTTP 503"}
)

// TestStatus walks the state machine through sequences of results; each
// step lists the result, when it arrived, and the expected state,
// failure count and whether Record reported a change.
func TestStatus(t *testing.T) {
	type step struct {
		r            Result
		at           int
		wantState    State
		wantFailures int
		wantChanged  bool
	}
	tests := []struct {
		name        string
		startPeriod int
		steps       []step
	}{
		{name: "one success is healthy", steps: []step{
			{ok, 10, Healthy, 0, true},
			{ok, 20, Healthy, 0, false},
		}},
		{name: "retries failures in a row", steps: []step{
			{fail, 10, Starting, 1, false},
			{fail, 20, Starting, 2, false},
			{fail, 30, Unhealthy, 3, true},
			{fail, 40, Unhealthy, 4, false},
			{ok, 50, Healthy, 0, true},
		}},
		{name: "a success resets the count", steps: []step{
			{ok, 10, Healthy, 0, true},
			{fail, 20, Healthy, 1, false},
			{fail, 30, Healthy, 2, false},
			{ok, 40, Healthy, 0, false},
			{fail, 50, Healthy, 1, false},
			{fail, 60, Healthy, 2, false},
			{fail, 70, Unhealthy, 3, true},
		}},
		{name: "start period failures do not count", startPeriod: 25, steps: []step{
			{fail, 10, Starting, 0, false},
			{fail, 20, Starting, 0, false},
			{fail, 30, Starting, 1, false},
			{fail, 40, Starting, 2, false},
			{fail, 50, Unhealthy, 3, true},
		}},
		{name: "a success ends the start period", startPeriod: 100, steps: []step{
			{ok, 10, Healthy, 0, true},
			{fail, 20, Healthy, 1, false},
			{fail, 30, Healthy, 2, false},
			{fail, 40, Unhealthy, 3, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc := config.HealthCheck{Kind: config.HealthHTTP, Retries: 3, StartPeriodSecs: tt.startPeriod}
			var s Status
			s.Start(hc, at(0))
			if s.State != Starting || s.Suffix(hc) != "[starting]" {
				t.Fatalf("after Start: %v %q", s.State, s.Suffix(hc))
			}
			for i, st := range tt.steps {
				changed := s.Record(hc, st.r, at(st.at))
				if s.State != st.wantState || s.Failures != st.wantFailures || changed != st.wantChanged {
					t.Fatalf("step %d: state %v failures %d changed %v; want %v %d %v",
						i, s.State, s.Failures, changed, st.wantState, st.wantFailures, st.wantChanged)
				}
				if !s.LastCheck.Equal(at(st.at)) || s.LastResult != st.r {
					t.Fatalf("step %d: last check %v %+v", i, s.LastCheck, s.LastResult)
				}
			}
		})
	}
}

func TestStatusStopAndSuffix(t *testing.T) {
	hc := config.HealthCheck{Kind: config.HealthHTTP, Retries: 3}
	var s Status
	if s.State != None || s.Suffix(hc) != "" {
		t.Fatalf("zero Status: %v %q", s.State, s.Suffix(hc))
	}
	s.Start(hc, at(0))
	for i := range 3 {
		s.Record(hc, fail, at(i))
	}
	if got, want := s.Suffix(hc), "[unhealthy: HTTP 503 (3/3)]"; got != want {
		t.Fatalf("Suffix = %q, want %q", got, want)
	}
	s.Record(hc, ok, at(5))
	if got := s.Suffix(hc); got != "[healthy]" {
		t.Fatalf("Suffix = %q", got)
	}
	s.Stop()
	if s.State != None || s.Suffix(hc) != "" {
		t.Fatalf("after Stop: %v %q", s.State, s.Suffix(hc))
	}
	// A result that arrives after the instance ended changes nothing.
	if s.Record(hc, fail, at(9)) || s.State != None || !s.LastCheck.Equal(at(5)) {
		t.Fatalf("late result recorded: %+v", s)
	}
	// A new instance starts afresh.
	s.Start(hc, at(10))
	if s.State != Starting || s.Failures != 0 {
		t.Fatalf("after restart: %+v", s)
	}
}

func TestExitResult(t *testing.T) {
	tests := []struct {
		ws   syscall.WaitStatus
		want Result
	}{
		{0, Result{OK: true, Reason: "exit status 0"}},
		{1 << 8, Result{Reason: "exit status 1"}},
		{2 << 8, Result{Reason: "exit status 2"}},
		{syscall.WaitStatus(syscall.SIGKILL), Result{Reason: "terminated by SIGKILL"}},
	}
	for _, tt := range tests {
		if got := ExitResult(tt.ws); got != tt.want {
			t.Errorf("ExitResult(%#x) = %+v, want %+v", int(tt.ws), got, tt.want)
		}
	}
	if got := TimedOut(5 * time.Second).Reason; got != "timed out after 5s" {
		t.Errorf("TimedOut reason %q", got)
	}
}

// run starts one check and waits for its report.
func run(t *testing.T, r *Runner, out chan Report, hc config.HealthCheck) Result {
	t.Helper()
	r.Start("tok", hc)
	select {
	case rep := <-out:
		if rep.Token != "tok" {
			t.Fatalf("token %v", rep.Token)
		}
		return rep.Result
	case <-time.After(10 * time.Second):
		t.Fatal("no report")
	}
	panic("unreachable")
}

// TestHTTPCheck runs checks against a loopback server toggled between
// 200, 503, a redirect and a hang.
func TestHTTPCheck(t *testing.T) {
	var mode atomic.Value
	mode.Store("200")
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch mode.Load().(string) {
		case "200":
			w.Write([]byte("all good"))
		case "503":
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(strings.Repeat("z", 2*OutputMax)))
		case "302":
			http.Redirect(w, req, "/elsewhere", http.StatusFound)
		case "hang":
			select {
			case <-release:
			case <-req.Context().Done():
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	out := make(chan Report)
	r := NewRunner(out)
	defer r.Close()
	hc := config.HealthCheck{Kind: config.HealthHTTP, URL: srv.URL + "/health", TimeoutSecs: 1}

	if got := run(t, r, out, hc); !got.OK || got.Reason != "HTTP 200" || got.Output != "all good" {
		t.Fatalf("200: %+v", got)
	}
	mode.Store("503")
	if got := run(t, r, out, hc); got.OK || got.Reason != "HTTP 503" || len(got.Output) != OutputMax {
		t.Fatalf("503: ok=%v reason=%q output %d bytes", got.OK, got.Reason, len(got.Output))
	}
	mode.Store("302")
	if got := run(t, r, out, hc); !got.OK || got.Reason != "HTTP 302" {
		t.Fatalf("302 (not followed): %+v", got)
	}
	mode.Store("hang")
	start := time.Now()
	if got := run(t, r, out, hc); got.OK || got.Reason != "timed out after 1s" {
		t.Fatalf("hang: %+v", got)
	}
	// Well short of any client's default (net/http's 30 s) yet a
	// generous budget past the 1 s for a loaded machine.
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("a hanging check took %v with a 1 s timeout", d)
	}
}

func TestTCPCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	out := make(chan Report)
	r := NewRunner(out)
	defer r.Close()
	hc := config.HealthCheck{Kind: config.HealthTCP, Address: addr, TimeoutSecs: 1}
	if got := run(t, r, out, hc); !got.OK || got.Reason != "connected" {
		t.Fatalf("open port: %+v", got)
	}
	ln.Close()
	if got := run(t, r, out, hc); got.OK || got.Reason != "connection refused" {
		t.Fatalf("closed port: %+v", got)
	}
}

// Close does not wait for a hanging check's timeout, and a report nobody
// takes does not keep a goroutine alive.
func TestRunnerClose(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	r := NewRunner(make(chan Report))
	r.Start(1, config.HealthCheck{Kind: config.HealthHTTP, URL: srv.URL, TimeoutSecs: 60})
	r.Start(2, config.HealthCheck{Kind: config.HealthTCP, Address: srv.Listener.Addr().String(), TimeoutSecs: 60})
	start := time.Now()
	r.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v", d)
	}
}

func TestCapture(t *testing.T) {
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := NewCapture(rd)
	// Far more than a pipe holds: the capture drains it.
	big := strings.Repeat("0123456789", 100_000)
	if _, err := wr.Write([]byte(big)); err != nil {
		t.Fatal(err)
	}
	wr.Close()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("capture did not end at end of file")
	}
	if got := c.Output(); got != big[:OutputMax] {
		t.Fatalf("kept %d bytes, want the first %d", len(got), OutputMax)
	}
	c.Close()

	// A writer that never closes (a process that escaped the check's
	// group) does not keep the goroutine past Close.
	rd, wr, err = os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer wr.Close()
	c = NewCapture(rd)
	wr.Write([]byte("partial"))
	testenv.Eventually(t, 5*time.Second, func() error {
		if c.Output() != "partial" {
			return os.ErrNotExist
		}
		return nil
	})
	c.Close()
	if got := c.Output(); got != "partial" {
		t.Fatalf("after Close: %q", got)
	}
}
