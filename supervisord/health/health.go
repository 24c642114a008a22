// Package health checks whether running programs work, with Docker's
// HEALTHCHECK semantics: a check every interval, one in flight at a time,
// a timeout that counts as a failure, failures during the start period
// not counted (a success ends it), one success healthy, retries
// consecutive failures unhealthy.
//
// The package decides and probes; it does not spawn. [Status] is the
// state machine, a plain value the engine keeps in its process record and
// feeds results with the time they arrived. [Runner] runs HTTP and TCP
// probes on goroutines of their own and reports on a channel. Exec
// checks are children: the engine spawns and reaps them like programs
// (one reaper, never Cmd.Wait), turns their exit into a [Result] with
// [ExitResult], and keeps their output with a [Capture].
package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"gosupervisor/config"
)

// OutputMax is how much of a check's output is kept (Docker's limit).
const OutputMax = 4096

// State is a process's health, an attribute beside its Supervisor state.
type State int

// The health states.
const (
	// None: no check configured, or no instance running.
	None State = iota
	// Starting: running, no check has succeeded yet, and too few have
	// failed (or the start period is not over).
	Starting
	Healthy
	Unhealthy
)

func (s State) String() string {
	switch s {
	case Starting:
		return "starting"
	case Healthy:
		return "healthy"
	case Unhealthy:
		return "unhealthy"
	}
	return "none"
}

// Result is the outcome of one check.
type Result struct {
	OK bool
	// Reason says what was seen: "HTTP 200", "HTTP 503", "exit status
	// 1", "timed out after 5s", "connection refused".
	Reason string
	// Output is the first OutputMax bytes of what the check printed (the
	// response body of an HTTP check); exec output arrives separately.
	Output string
}

// Status is one process's health. The engine owns it; the zero value is
// None.
type Status struct {
	State State
	// Failures counts the failed checks in a row that counted (those in
	// the start period do not).
	Failures int
	// LastCheck is when the last check finished; LastResult is its result.
	LastCheck  time.Time
	LastResult Result
	// startPeriodEnd is when failures start counting; zero once a check
	// succeeded.
	startPeriodEnd time.Time
}

// Start resets the status for a new instance spawned at now: Starting,
// no failures, the start period running.
func (s *Status) Start(hc config.HealthCheck, now time.Time) {
	*s = Status{State: Starting}
	if hc.StartPeriodSecs > 0 {
		s.startPeriodEnd = now.Add(time.Duration(hc.StartPeriodSecs) * time.Second)
	}
}

// Stop is the instance's end: the state is None; the last result stays
// for inspection.
func (s *Status) Stop() {
	s.State = None
	s.startPeriodEnd = time.Time{}
}

// Record applies a check's result that finished at now and reports
// whether the state changed.
func (s *Status) Record(hc config.HealthCheck, r Result, now time.Time) bool {
	if s.State == None {
		return false // the instance is gone; a late result means nothing
	}
	before := s.State
	s.LastCheck, s.LastResult = now, r
	switch {
	case r.OK:
		s.Failures = 0
		s.startPeriodEnd = time.Time{}
		s.State = Healthy
	case s.inStartPeriod(now):
		// Not counted.
	default:
		s.Failures++
		if s.Failures >= hc.Retries {
			s.State = Unhealthy
		}
	}
	return s.State != before
}

// StartPeriodEnd is when failures start counting; zero when they do
// already (an upgrade in place hands it over).
func (s *Status) StartPeriodEnd() time.Time { return s.startPeriodEnd }

// Restore is a status as a predecessor handed it over, with its start
// period ending at startPeriodEnd (zero: over).
func Restore(st State, failures int, lastCheck time.Time, last Result, startPeriodEnd time.Time) Status {
	return Status{State: st, Failures: failures, LastCheck: lastCheck, LastResult: last, startPeriodEnd: startPeriodEnd}
}

// ParseState reads a State's String.
func ParseState(name string) (State, bool) {
	for _, st := range []State{None, Starting, Healthy, Unhealthy} {
		if st.String() == name {
			return st, true
		}
	}
	return None, false
}

func (s *Status) inStartPeriod(now time.Time) bool {
	return s.State == Starting && !s.startPeriodEnd.IsZero() && now.Before(s.startPeriodEnd)
}

// Suffix is what the description of a running process shows:
// "[starting]", "[healthy]", "[unhealthy: HTTP 503 (3/3)]"; "" for None.
func (s *Status) Suffix(hc config.HealthCheck) string {
	switch s.State {
	case Starting, Healthy:
		return "[" + s.State.String() + "]"
	case Unhealthy:
		return fmt.Sprintf("[unhealthy: %s (%d/%d)]", s.LastResult.Reason, s.Failures, hc.Retries)
	}
	return ""
}

// ExitResult is an exec check's result from its wait status: exit 0 is
// healthy.
func ExitResult(ws syscall.WaitStatus) Result {
	switch {
	case ws.Exited():
		return Result{OK: ws.ExitStatus() == 0, Reason: fmt.Sprintf("exit status %d", ws.ExitStatus())}
	case ws.Signaled():
		return Result{Reason: "terminated by " + config.SignalName(ws.Signal())}
	}
	return Result{Reason: fmt.Sprintf("unknown termination cause 0x%04x", int(ws))}
}

// TimedOut is the result of a check that took longer than timeout.
func TimedOut(timeout time.Duration) Result {
	return Result{Reason: fmt.Sprintf("timed out after %v", timeout)}
}

// Report is a network check's result for the engine.
type Report struct {
	// Token is what Start was given (the engine's name for the check).
	Token  any
	Result Result
}

// Runner runs HTTP and TCP checks, each on a goroutine of its own with
// the check's timeout, so a slow check never holds up the engine or
// another program's check. Results go to the channel given to
// NewRunner; Close cancels what is in flight and waits for it.
type Runner struct {
	out    chan<- Report
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	client *http.Client
}

// NewRunner makes a runner that reports on out.
func NewRunner(out chan<- Report) *Runner {
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{
		out: out, ctx: ctx, cancel: cancel,
		client: &http.Client{
			Transport: &http.Transport{
				// A pooled connection could answer for a listener that
				// has since died; the environment's proxy is not asked.
				DisableKeepAlives: true,
				Proxy:             nil,
				// As kubelet: a check proves the service answers, not
				// who it is.
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Start runs a network check (hc.Kind HealthHTTP or HealthTCP) and
// reports its result with token.
func (r *Runner) Start(token any, hc config.HealthCheck) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		res := r.probe(hc)
		select {
		case r.out <- Report{Token: token, Result: res}:
		case <-r.ctx.Done():
		}
	}()
}

// Close cancels the checks in flight and waits for their goroutines.
func (r *Runner) Close() {
	r.cancel()
	r.wg.Wait()
}

// probe runs one check with its timeout.
func (r *Runner) probe(hc config.HealthCheck) Result {
	timeout := time.Duration(hc.TimeoutSecs) * time.Second
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	var res Result
	switch hc.Kind {
	case config.HealthHTTP:
		res = r.httpProbe(ctx, hc.URL)
	case config.HealthTCP:
		res = tcpProbe(ctx, hc.Address)
	default:
		return Result{Reason: "not a network check"}
	}
	if !res.OK && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return TimedOut(timeout)
	}
	return res
}

// httpProbe GETs u: a status from 200 to 399 is healthy (redirects are
// not followed).
func (r *Runner) httpProbe(ctx context.Context, u string) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Result{Reason: err.Error()}
	}
	req.Header.Set("User-Agent", "gosupervisor-healthcheck")
	resp, err := r.client.Do(req)
	if err != nil {
		return Result{Reason: shortError(err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, OutputMax))
	return Result{
		OK:     resp.StatusCode >= 200 && resp.StatusCode < 400,
		Reason: fmt.Sprintf("HTTP %d", resp.StatusCode),
		Output: string(body),
	}
}

// tcpProbe connects to addr: a connection is healthy.
func tcpProbe(ctx context.Context, addr string) Result {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Result{Reason: shortError(err)}
	}
	c.Close()
	return Result{OK: true, Reason: "connected"}
}

// shortError drops the layers a network error repeats ("Get \"url\":
// dial tcp 127.0.0.1:1: connect: connection refused" becomes
// "connection refused").
func shortError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return strings.TrimSpace(err.Error())
}

// Capture keeps the first OutputMax bytes an exec check writes to its
// pipe and drains the rest, so a chatty check never blocks on a full
// pipe. Its goroutine ends at end of file or at Close.
type Capture struct {
	f    *os.File
	done chan struct{}
	mu   sync.Mutex
	buf  []byte
}

// NewCapture starts reading f (the read end of the check's output pipe;
// the Capture owns it).
func NewCapture(f *os.File) *Capture {
	c := &Capture{f: f, done: make(chan struct{})}
	go c.read()
	return c
}

func (c *Capture) read() {
	defer close(c.done)
	chunk := make([]byte, 1024)
	for {
		n, err := c.f.Read(chunk)
		if n > 0 {
			c.mu.Lock()
			if room := OutputMax - len(c.buf); room > 0 {
				c.buf = append(c.buf, chunk[:min(n, room)]...)
			}
			c.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// Output is what was kept so far.
func (c *Capture) Output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}

// Close stops reading (a process that escaped the check's process group
// may hold the pipe open forever) and waits for the goroutine; what was
// kept stays readable.
func (c *Capture) Close() {
	c.f.Close()
	<-c.done
}
