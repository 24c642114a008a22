package rpc

import (
	"slices"
	"strconv"
)

// valueAppender is a value that writes its own <value> element. The
// process info structs go this way: boxing their 14 members into a
// Struct cost an allocation per member, which with 500 programs made
// most of a getAllProcessInfo's garbage.
type valueAppender interface {
	appendXMLValue(buf []byte) []byte
}

// processInfoValue encodes as the struct getProcessInfo returns, member
// for member in the reference's dict order.
type processInfoValue ProcessInfo

// processInfoList encodes as the array getAllProcessInfo returns.
type processInfoList []ProcessInfo

// endString and endInt close a member.
const (
	endString = "</string></value>\n</member>\n"
	endInt    = "</int></value>\n</member>\n"
)

func (v *processInfoValue) appendXMLValue(buf []byte) []byte {
	buf = append(buf, "<value><struct>\n"...)
	buf = appendStringMember(buf, "<member>\n<name>name</name>\n<value><string>", v.Name)
	buf = appendStringMember(buf, "<member>\n<name>group</name>\n<value><string>", v.Group)
	buf = appendIntMember(buf, "<member>\n<name>start</name>\n<value><int>", capInt32(v.Start))
	buf = appendIntMember(buf, "<member>\n<name>stop</name>\n<value><int>", capInt32(v.Stop))
	buf = appendIntMember(buf, "<member>\n<name>now</name>\n<value><int>", capInt32(v.Now))
	buf = appendIntMember(buf, "<member>\n<name>state</name>\n<value><int>", int64(v.State))
	buf = appendStringMember(buf, "<member>\n<name>statename</name>\n<value><string>", v.State.String())
	buf = appendStringMember(buf, "<member>\n<name>spawnerr</name>\n<value><string>", v.SpawnErr)
	buf = appendIntMember(buf, "<member>\n<name>exitstatus</name>\n<value><int>", int64(v.ExitStatus))
	buf = appendStringMember(buf, "<member>\n<name>logfile</name>\n<value><string>", v.Logfile)
	buf = appendStringMember(buf, "<member>\n<name>stdout_logfile</name>\n<value><string>", v.StdoutLogfile)
	buf = appendStringMember(buf, "<member>\n<name>stderr_logfile</name>\n<value><string>", v.StderrLogfile)
	buf = appendIntMember(buf, "<member>\n<name>pid</name>\n<value><int>", int64(v.PID))
	buf = appendStringMember(buf, "<member>\n<name>description</name>\n<value><string>", v.Description)
	return append(buf, "</struct></value>\n"...)
}

// processInfoBytes is about what one encoded process info takes besides
// its strings, so a list is encoded into one allocation.
const processInfoBytes = 700

func (l processInfoList) appendXMLValue(buf []byte) []byte {
	need := 64
	for i := range l {
		p := &l[i]
		need += processInfoBytes + len(p.Name) + len(p.Group) + len(p.SpawnErr) +
			2*len(p.Logfile) + len(p.StderrLogfile) + len(p.Description)
	}
	buf = slices.Grow(buf, need)
	buf = append(buf, "<value><array><data>\n"...)
	for i := range l {
		buf = (*processInfoValue)(&l[i]).appendXMLValue(buf)
	}
	return append(buf, "</data></array></value>\n"...)
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
