package events

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"gosupervisor/internal/pyrepr"
)

// StateChange describes one process state transition for its
// PROCESS_STATE_* payload. The values are taken when the transition
// happens (the reference renders them eagerly), not when the event is
// delivered.
type StateChange struct {
	Process, Group string
	From           string // the state left, e.g. "STARTING"
	To             Type   // a concrete PROCESS_STATE_* type
	Tries          int    // backoff count (STARTING, BACKOFF)
	PID            int    // RUNNING, STOPPING, STOPPED, EXITED
	Expected       bool   // EXITED
}

// Payload renders the token line: processname, groupname, from_state,
// then the extras the target state carries, with no trailing newline.
func (s StateChange) Payload() string {
	var b strings.Builder
	fmt.Fprintf(&b, "processname:%s groupname:%s from_state:%s", s.Process, s.Group, s.From)
	switch s.To {
	case ProcessStateStarting, ProcessStateBackoff:
		fmt.Fprintf(&b, " tries:%d", s.Tries)
	case ProcessStateRunning, ProcessStateStopping, ProcessStateStopped:
		fmt.Fprintf(&b, " pid:%d", s.PID)
	case ProcessStateExited:
		fmt.Fprintf(&b, " expected:%d pid:%d", boolInt(s.Expected), s.PID)
	}
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// LogPayload is PROCESS_LOG_STDOUT/STDERR's payload: the token line
// (with channel:, which the docs omit) and the raw chunk.
func LogPayload(process, group string, pid int, channel string, data []byte) string {
	return fmt.Sprintf("processname:%s groupname:%s pid:%d channel:%s\n%s", process, group, pid, channel, DecodeData(data))
}

// CommPayload is PROCESS_COMMUNICATION_STDOUT/STDERR's payload: the
// token line (no channel:) and the captured bytes.
func CommPayload(process, group string, pid int, data []byte) string {
	return fmt.Sprintf("processname:%s groupname:%s pid:%d\n%s", process, group, pid, DecodeData(data))
}

// RemoteCommPayload is REMOTE_COMMUNICATION's payload.
func RemoteCommPayload(typ, data string) string { return "type:" + typ + "\n" + data }

// GroupPayload is PROCESS_GROUP_ADDED/REMOVED's payload, with the
// trailing newline the reference sends.
func GroupPayload(group string) string { return "groupname:" + group + "\n" }

// TickPayload is TICK_*'s payload; when is the period boundary in epoch
// seconds.
func TickPayload(when int64) string { return "when:" + strconv.FormatInt(when, 10) }

// Timeslice is the start of the period-second slice holding the epoch
// second now (the reference's timeslice).
func Timeslice(period, now int64) int64 { return now - now%period }

// DecodeData is how the reference turns child output into payload text:
// the bytes themselves when they are valid UTF-8, else "Undecodable: "
// and their Python bytes repr.
func DecodeData(data []byte) string {
	if utf8.Valid(data) {
		return string(data)
	}
	return "Undecodable: " + pyrepr.Bytes(data)
}

// Envelope is what a listener reads on stdin before each payload.
type Envelope struct {
	Server     string // the supervisord identifier
	Serial     int64  // global serial
	Pool       string
	PoolSerial int64
	Type       Type
	Payload    string
}

// Bytes renders the header line and the payload. len: counts characters,
// not bytes: the reference measures the payload as a Python str, and
// childutils reads that many characters from a text stdin.
func (e Envelope) Bytes() []byte {
	header := fmt.Sprintf("ver:3.0 server:%s serial:%d pool:%s poolserial:%d eventname:%s len:%d\n",
		e.Server, e.Serial, e.Pool, e.PoolSerial, e.Type, utf8.RuneCountInString(e.Payload))
	return []byte(header + e.Payload)
}

// NotifyReadyPayload is PROCESS_NOTIFY_READY's payload (a program sent
// READY=1).
func NotifyReadyPayload(process, group string, pid int) string {
	return fmt.Sprintf("processname:%s groupname:%s pid:%d", process, group, pid)
}

// NotifyStatusPayload is PROCESS_NOTIFY_STATUS's payload: the token line,
// then the program's STATUS= text (which may hold spaces, so it is not a
// token; "" when the program cleared it).
func NotifyStatusPayload(process, group string, pid int, status string) string {
	return fmt.Sprintf("processname:%s groupname:%s pid:%d\n%s", process, group, pid, status)
}

// NotifyWatchdogPayload is PROCESS_NOTIFY_WATCHDOG's payload; reason is
// "timeout" (a keep-alive was missed) or "trigger" (WATCHDOG=trigger).
func NotifyWatchdogPayload(process, group string, pid int, reason string) string {
	return fmt.Sprintf("processname:%s groupname:%s pid:%d reason:%s", process, group, pid, reason)
}

// HealthPayload is PROCESS_HEALTH_HEALTHY's and PROCESS_HEALTH_UNHEALTHY's
// payload: the token line with the failed checks in a row, then the last
// check's result ("HTTP 503", "timed out after 5s").
func HealthPayload(process, group string, pid, failures int, reason string) string {
	return fmt.Sprintf("processname:%s groupname:%s pid:%d failures:%d\n%s", process, group, pid, failures, reason)
}

// ResourcePayload is PROCESS_RESOURCE_OOM's and
// PROCESS_RESOURCE_RSS_LIMIT's payload: the process's tokens, then the
// event's own ("memory_max:268435456", "rss:70123520 rss_limit:67108864").
func ResourcePayload(process, group string, pid int, detail string) string {
	return fmt.Sprintf("processname:%s groupname:%s pid:%d %s", process, group, pid, detail)
}

// ExitRecord is one exit as PROCESS_EXIT_RECORD tells it.
type ExitRecord struct {
	Process, Group string
	PID            int
	Expected       bool
	Stopped        bool // a stop ended it
	ExitStatus     int  // -1 after a signal
	Signal         string
	Uptime         float64 // seconds
	Reason         string  // may hold spaces
	Stdout, Stderr []string
}

// Payload is PROCESS_EXIT_RECORD's payload: a token line (signal:none
// after a normal exit; the line counts say how many lines of each
// channel follow), the reason on a line of its own (empty when none),
// then the last lines of stdout and of stderr.
func (r ExitRecord) Payload() string {
	var b strings.Builder
	signal := r.Signal
	if signal == "" {
		signal = "none"
	}
	fmt.Fprintf(&b, "processname:%s groupname:%s pid:%d expected:%d stopped:%d exitstatus:%d signal:%s uptime:%.3f stdout_lines:%d stderr_lines:%d\n%s",
		r.Process, r.Group, r.PID, boolInt(r.Expected), boolInt(r.Stopped), r.ExitStatus, signal, r.Uptime, len(r.Stdout), len(r.Stderr), r.Reason)
	for _, l := range r.Stdout {
		b.WriteString("\n" + l)
	}
	for _, l := range r.Stderr {
		b.WriteString("\n" + l)
	}
	return b.String()
}

// Upgrade is an upgrade in place as SUPERVISOR_UPGRADE_SUCCEEDED and
// SUPERVISOR_UPGRADE_FAILED tell it.
type Upgrade struct {
	// Serial is the daemon's count of upgrades that got past the new
	// binary's check, this one included (a refused one is not counted).
	Serial int
	PID    int
	// From and To are the builds ("gosupervisor 4.2.5 (commit ...)");
	// To is "" when the new binary's check did not say. Path is the
	// binary asked for; Reason why the upgrade failed ("" when it
	// succeeded). Any of them may hold spaces.
	From, To, Path, Reason string
}

// Payload is the events' payload: a token line, then one line each for
// the builds, the path and the reason, each with its label (values may
// hold spaces, so they are not tokens).
func (u Upgrade) Payload() string {
	line := func(s string) string { return strings.ReplaceAll(s, "\n", " ") }
	return fmt.Sprintf("serial:%d pid:%d\nfrom:%s\nto:%s\npath:%s\nreason:%s",
		u.Serial, u.PID, line(u.From), line(u.To), line(u.Path), line(u.Reason))
}
