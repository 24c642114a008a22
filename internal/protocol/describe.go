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
