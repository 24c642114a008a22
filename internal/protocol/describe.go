package protocol

import (
	"strconv"
	"time"
)

// Describe is the "description" getProcessInfo gives a process (the
// reference's _interpretProcessInfo), which supervisorctl status and the
// web UI show: "pid 123, uptime 1 day, 2:03:04" while RUNNING; the spawn
// error, or an invitation to tail, in BACKOFF and FATAL; the local time
// it stopped, or "Not started", when STOPPED or EXITED; "" otherwise.
// start, stop and now are epoch seconds (0 = never).
func Describe(state ProcessState, name string, pid int, spawnErr string, start, stop, now int64) string {
	switch state {
	case StateRunning:
		return string(AppendRunning(make([]byte, 0, 48), pid, start, now))
	case StateFatal, StateBackoff:
		if spawnErr != "" {
			return spawnErr
		}
		return `unknown error (try "tail ` + name + `")`
	case StateStopped, StateExited:
		if start == 0 {
			return "Not started"
		}
		return time.Unix(stop, 0).Local().Format("Jan 02 03:04 PM")
	}
	return ""
}

// AppendRunning appends Describe's text for a RUNNING process to dst
// without allocating: getAllProcessInfo words every RUNNING process on
// each call. The text has only ASCII letters, digits, spaces, commas and
// colons.
func AppendRunning(dst []byte, pid int, start, now int64) []byte {
	dst = append(dst, "pid "...)
	dst = strconv.AppendInt(dst, int64(pid), 10)
	dst = append(dst, ", uptime "...)
	return appendUptime(dst, max(now-start, 0))
}

// appendUptime renders seconds as Python's timedelta: "1 day, 2:03:04".
func appendUptime(b []byte, secs int64) []byte {
	days, rest := secs/86400, secs%86400
	switch {
	case days == 1:
		b = append(b, "1 day, "...)
	case days > 1:
		b = strconv.AppendInt(b, days, 10)
		b = append(b, " days, "...)
	}
	b = strconv.AppendInt(b, rest/3600, 10)
	for _, n := range []int64{rest % 3600 / 60, rest % 60} {
		b = append(b, ':', byte('0'+n/10), byte('0'+n%10))
	}
	return b
}

// Extras are what gosupervisor's extension keys add to a description:
// readiness and STATUS= from sd_notify, the health check's verdict. The
// zero value adds nothing, so a program that uses none of those keys is
// described exactly as the reference describes it.
type Extras struct {
	// Notify is set when the program reports readiness (notify=true):
	// STARTING then reads "waiting for READY=1".
	Notify bool
	// Ready is set for such a program while it is RUNNING with READY=1
	// not withdrawn by RELOADING=1 or STOPPING=1 (the description does
	// not show it; metrics do).
	Ready bool
	// Status is the program's last STATUS= text ("" = none).
	Status string
	// Health is "starting", "healthy" or "unhealthy" while a health
	// check runs, else "". HealthDetail is what an unhealthy verdict
	// rests on: "HTTP 503 (3/3)".
	Health       string
	HealthDetail string
}

// maxStatusInDescription bounds the STATUS= text shown in a description
// (the full text is available through gosupervisor.getProcessHealth).
const maxStatusInDescription = 200

// Decorate adds x to desc, the description Describe gave a process in
// state: a RUNNING one keeps the reference's "pid N, uptime U" prefix,
// so scripts that parse it still work, and gets "[<health>]" and
// ": <status>" after it; a STARTING one that reports readiness reads
// "waiting for READY=1", with ": <status>". Other states are unchanged.
func (x Extras) Decorate(state ProcessState, desc string) string {
	if x == (Extras{}) {
		return desc
	}
	switch state {
	case StateStarting:
		if !x.Notify {
			return desc
		}
		desc = "waiting for READY=1"
	case StateRunning:
		switch {
		case x.Health == "unhealthy" && x.HealthDetail != "":
			desc += " [unhealthy: " + x.HealthDetail + "]"
		case x.Health != "":
			desc += " [" + x.Health + "]"
		}
	default:
		return desc
	}
	if x.Status != "" {
		status := x.Status
		if r := []rune(status); len(r) > maxStatusInDescription {
			status = string(r[:maxStatusInDescription]) + "…"
		}
		desc += ": " + status
	}
	return desc
}
