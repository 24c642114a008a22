package rpc

import (
	"slices"
	"strconv"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/engine"
)

// valueAppender is a value that writes its own <value> element. The
// process info structs go this way: boxing their 14 members into a
// Struct cost an allocation per member, which with 500 programs made
// most of a getAllProcessInfo's garbage.
type valueAppender interface {
	appendXMLValue(buf []byte) []byte
}

// processInfoValue encodes a process snapshot as the struct
// getProcessInfo returns, member for member in the reference's dict
// order, as seen at now (epoch seconds).
type processInfoValue struct {
	p   engine.ProcessStatus
	now int64
}

// processInfoList encodes as the array getAllProcessInfo returns.
type processInfoList struct {
	procs []engine.ProcessStatus
	now   int64
}

// endString and endInt close a member.
const (
	endString = "</string></value>\n</member>\n"
	endInt    = "</int></value>\n</member>\n"
)

func (v *processInfoValue) appendXMLValue(buf []byte) []byte {
	return appendProcessInfo(buf, &v.p, v.now)
}

// appendProcessInfo writes one process info struct. The description is
// worded here, at the reader's now: a RUNNING process's uptime moves on.
func appendProcessInfo(buf []byte, p *engine.ProcessStatus, now int64) []byte {
	start, stop := unixOrZero(p.Started), unixOrZero(p.Stopped)
	logfile := p.LogFiles[protocol.Stdout]
	buf = append(buf, "<value><struct>\n"...)
	buf = appendStringMember(buf, "<member>\n<name>name</name>\n<value><string>", p.Name)
	buf = appendStringMember(buf, "<member>\n<name>group</name>\n<value><string>", p.Group)
	buf = appendIntMember(buf, "<member>\n<name>start</name>\n<value><int>", capInt32(start))
	buf = appendIntMember(buf, "<member>\n<name>stop</name>\n<value><int>", capInt32(stop))
	buf = appendIntMember(buf, "<member>\n<name>now</name>\n<value><int>", capInt32(now))
	buf = appendIntMember(buf, "<member>\n<name>state</name>\n<value><int>", int64(p.State))
	buf = appendStringMember(buf, "<member>\n<name>statename</name>\n<value><string>", p.State.String())
	buf = appendStringMember(buf, "<member>\n<name>spawnerr</name>\n<value><string>", p.SpawnErr)
	buf = appendIntMember(buf, "<member>\n<name>exitstatus</name>\n<value><int>", int64(p.ExitStatus))
	buf = appendStringMember(buf, "<member>\n<name>logfile</name>\n<value><string>", logfile)
	buf = appendStringMember(buf, "<member>\n<name>stdout_logfile</name>\n<value><string>", logfile)
	buf = appendStringMember(buf, "<member>\n<name>stderr_logfile</name>\n<value><string>", p.LogFiles[protocol.Stderr])
	buf = appendIntMember(buf, "<member>\n<name>pid</name>\n<value><int>", int64(p.PID))
	const descHead = "<member>\n<name>description</name>\n<value><string>"
	switch {
	case p.DependencyNote != "":
		// depends_on's note, for a stopped process that waits or failed to.
		buf = appendStringMember(buf, descHead, p.DependencyNote)
	case p.State == protocol.StateRunning:
		// Appended in place (its characters need no escaping): this is
		// the description of most processes on every call.
		buf = append(buf, descHead...)
		buf = protocol.AppendRunning(buf, p.PID, start, now)
		buf = append(buf, endString...)
	default:
		buf = appendStringMember(buf, descHead, protocol.Describe(p.State, p.Name, p.PID, p.SpawnErr, start, stop, now))
	}
	return append(buf, "</struct></value>\n"...)
}

// processInfoBytes is about what one encoded process info takes besides
// its strings, so a list is encoded into one allocation.
const processInfoBytes = 750

func (l *processInfoList) appendXMLValue(buf []byte) []byte {
	need := 64
	for i := range l.procs {
		p := &l.procs[i]
		need += processInfoBytes + len(p.Name) + len(p.Group) + len(p.SpawnErr) +
			2*len(p.LogFiles[protocol.Stdout]) + len(p.LogFiles[protocol.Stderr])
	}
	buf = slices.Grow(buf, need)
	buf = append(buf, "<value><array><data>\n"...)
	for i := range l.procs {
		buf = appendProcessInfo(buf, &l.procs[i], l.now)
	}
	return append(buf, "</data></array></value>\n"...)
}

// unixOrZero is t in epoch seconds, 0 for the zero time (never).
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func appendStringMember(buf []byte, head, s string) []byte {
	buf = append(buf, head...)
	buf = appendString(buf, s)
	return append(buf, endString...)
}

func appendIntMember(buf []byte, head string, n int64) []byte {
	buf = append(buf, head...)
	buf = strconv.AppendInt(buf, n, 10)
	return append(buf, endInt...)
}
