package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// NotifyAccess is notify_access: whose sd_notify datagrams a program's
// socket accepts (systemd's NotifyAccess=).
type NotifyAccess int

// The notify_access values. Exec is Main: gosupervisor runs no control
// processes (ExecStartPre= and the like) whose messages it would add.
const (
	NotifyNone NotifyAccess = iota
	NotifyMain
	NotifyExec
	NotifyAll
)

// String is the value as written in a config.
func (a NotifyAccess) String() string {
	switch a {
	case NotifyNone:
		return "none"
	case NotifyMain:
		return "main"
	case NotifyExec:
		return "exec"
	case NotifyAll:
		return "all"
	}
	return strconv.Itoa(int(a))
}

// ParseNotifyAccess reads none, main, exec or all (any case).
func ParseNotifyAccess(s string) (NotifyAccess, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none":
		return NotifyNone, nil
	case "main":
		return NotifyMain, nil
	case "exec":
		return NotifyExec, nil
	case "all":
		return NotifyAll, nil
	}
	return 0, fmt.Errorf("value %q is not one of none, main, exec, all", s)
}

// Notify is a program's sd_notify settings (extension keys).
type Notify struct {
	// Ready is notify=: STARTING becomes RUNNING on READY=1 instead of
	// after startsecs.
	Ready bool
	// Access is notify_access; its default is main when Ready or a
	// watchdog is set, else none.
	Access NotifyAccess
	// ReadyTimeoutSecs is ready_timeout_secs (default 90; 0 = wait
	// forever for READY=1).
	ReadyTimeoutSecs int
	// WatchdogSecs is watchdog_secs (0 = no watchdog).
	WatchdogSecs int
	// WatchdogSignal is watchdog_signal (default SIGABRT).
	WatchdogSignal syscall.Signal
}

// Socket reports whether the program gets a notification socket.
func (n Notify) Socket() bool {
	return n.Ready || n.WatchdogSecs > 0 || n.Access != NotifyNone
}

// HealthKind says how a program's health is checked.
type HealthKind int

// The health check kinds; HealthNone = no check.
const (
	HealthNone HealthKind = iota
	HealthExec
	HealthHTTP
	HealthTCP
)

// HealthAction is healthcheck_action: what an unhealthy program gets.
type HealthAction int

// The health actions.
const (
	// HealthRestart stops the program (stopsignal, then SIGKILL after
	// stopwaitsecs); its exit counts as unexpected, so autorestart
	// decides.
	HealthRestart HealthAction = iota
	// HealthReport only reports the state.
	HealthReport
)

// HealthCheck is a program's health check (extension keys); Kind is
// HealthNone when it has none.
type HealthCheck struct {
	Kind HealthKind
	// Command and Argv are healthcheck_exec (split like command=).
	Command string
	Argv    []string
	// URL is healthcheck_http (http or https).
	URL string
	// Address is healthcheck_tcp (host:port).
	Address string

	IntervalSecs    int // healthcheck_interval_secs, default 10
	TimeoutSecs     int // healthcheck_timeout_secs, default 5
	Retries         int // healthcheck_retries, default 3
	StartPeriodSecs int // healthcheck_start_period_secs, default 0
	Action          HealthAction
}

// notifyRows are the extension keys of issue 14 (sd_notify, watchdog,
// health checks), read per process so that %(process_num)d and ENV_
// names expand in them as in command=.
func notifyRows() []keyRow {
	n := func(at func(*Notify) *int) func(*Process) *int {
		return func(p *Process) *int { return at(&p.Notify) }
	}
	h := func(at func(*HealthCheck) *int) func(*Process) *int {
		return func(p *Process) *int { return at(&p.Health) }
	}
	rows := []keyRow{
		{name: "notify", def: "false", set: parsed(ParseBool, func(p *Process) *bool { return &p.Notify.Ready })},
		{name: "notify_access", optional: true, set: parsed(ParseNotifyAccess, func(p *Process) *NotifyAccess { return &p.Notify.Access })},
		{name: "ready_timeout_secs", def: "90", set: parsed(atLeast(0), n(func(x *Notify) *int { return &x.ReadyTimeoutSecs }))},
		{name: "watchdog_secs", def: "0", set: parsed(atLeast(0), n(func(x *Notify) *int { return &x.WatchdogSecs }))},
		{name: "watchdog_signal", def: "ABRT", set: parsed(ParseSignal, func(p *Process) *syscall.Signal { return &p.Notify.WatchdogSignal })},
		{check: func(c *keyCtx) error {
			// notify_access's default depends on notify and watchdog_secs.
			nt := &c.proc.Notify
			if _, given := c.l.ini.get(c.sec, "notify_access"); !given && (nt.Ready || nt.WatchdogSecs > 0) {
				nt.Access = NotifyMain
			}
			return nil
		}},
		{name: "healthcheck_exec", optional: true, set: func(c *keyCtx, v string) error {
			argv, err := SplitCommand(v)
			if err != nil {
				return fmt.Errorf("can't parse healthcheck_exec %q: %v", v, err)
			}
			if len(argv) == 0 {
				return errors.New("healthcheck_exec is empty")
			}
			return c.setHealth(HealthExec, func(hc *HealthCheck) { hc.Command, hc.Argv = v, argv })
		}},
		{name: "healthcheck_http", optional: true, set: func(c *keyCtx, v string) error {
			if err := checkHealthURL(v); err != nil {
				return err
			}
			return c.setHealth(HealthHTTP, func(hc *HealthCheck) { hc.URL = v })
		}},
		{name: "healthcheck_tcp", optional: true, set: func(c *keyCtx, v string) error {
			if err := checkHostPort(v); err != nil {
				return err
			}
			return c.setHealth(HealthTCP, func(hc *HealthCheck) { hc.Address = v })
		}},
		{name: "healthcheck_interval_secs", def: "10", set: parsed(atLeast(1), h(func(x *HealthCheck) *int { return &x.IntervalSecs }))},
		{name: "healthcheck_timeout_secs", def: "5", set: parsed(atLeast(1), h(func(x *HealthCheck) *int { return &x.TimeoutSecs }))},
		{name: "healthcheck_retries", def: "3", set: parsed(atLeast(1), h(func(x *HealthCheck) *int { return &x.Retries }))},
		{name: "healthcheck_start_period_secs", def: "0", set: parsed(atLeast(0), h(func(x *HealthCheck) *int { return &x.StartPeriodSecs }))},
		{name: "healthcheck_action", def: "restart", set: parsed(parseHealthAction, func(p *Process) *HealthAction { return &p.Health.Action })},
	}
	for i := range rows {
		rows[i].stage = stageProcess
		rows[i].extension = true
	}
	return rows
}

// setHealth records the health check kind; only one may be given.
func (c *keyCtx) setHealth(kind HealthKind, set func(*HealthCheck)) error {
	hc := &c.proc.Health
	if hc.Kind != HealthNone && hc.Kind != kind {
		return errors.New("only one of healthcheck_exec, healthcheck_http and healthcheck_tcp may be set")
	}
	hc.Kind = kind
	set(hc)
	return nil
}

// atLeast makes an integer parser that refuses values below low.
func atLeast(low int) func(string) (int, error) {
	return func(s string) (int, error) {
		n, err := ParseInteger(s)
		if err == nil && n < low {
			err = fmt.Errorf("value %d is less than %d", n, low)
		}
		return n, err
	}
}

func parseHealthAction(s string) (HealthAction, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "restart":
		return HealthRestart, nil
	case "none":
		return HealthReport, nil
	}
	return 0, fmt.Errorf("value %q is not one of restart, none", s)
}

// checkHealthURL accepts an absolute http or https URL with a host.
func checkHealthURL(v string) error {
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("healthcheck_http: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("healthcheck_http %q is not an http:// or https:// URL with a host", v)
	}
	return nil
}

// checkHostPort accepts host:port with a port from 1 to 65535.
func checkHostPort(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("healthcheck_tcp: %v", err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("healthcheck_tcp %q: bad port", v)
	}
	return nil
}
