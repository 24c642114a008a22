package rpc

import (
	"bytes"
)

// fastHead is what the fast path needs of a request head. Header fields
// are offsets into the head, so parsing allocates nothing.
type fastHead struct {
	target        fieldSpan // v0:v1 in the head
	hostField     int       // index in fields of Host
	contentLength int64
	close         bool
	nfields       int
	fields        [fastMaxHeaders]fieldSpan
}

// fieldSpan locates one header field's name and value in the head.
type fieldSpan struct{ k0, k1, v0, v1 int }

// parseFastHead parses a request head (ending with an empty line) into h.
// It accepts only what the fast path serves, in the plainest form: a
// POST to /RPC2… in HTTP/1.1, one Host, one Content-Length of at most
// smallBodyBytes, no Transfer-Encoding, Expect or Upgrade, Connection at
// most "close" or "keep-alive", CRLF line ends, no folded lines, no
// control characters. Anything else is net/http's to judge (false).
func parseFastHead(head []byte, h *fastHead) bool {
	line, rest, ok := bytes.Cut(head, []byte("\r\n"))
	if !ok {
		return false
	}
	target, ok := bytes.CutPrefix(line, []byte("POST "))
	if !ok {
		return false
	}
	target, ok = bytes.CutSuffix(target, []byte(" HTTP/1.1"))
	if !ok || !bytes.HasPrefix(target, []byte("/RPC2")) {
		return false
	}
	for _, c := range target {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	h.target = fieldSpan{v0: len("POST "), v1: len("POST ") + len(target)}
	h.nfields, h.contentLength, h.close, h.hostField = 0, -1, false, -1
	hosts := 0
	off := len(line) + 2
	for {
		line, rest, ok = bytes.Cut(rest, []byte("\r\n"))
		if !ok {
			return false
		}
		if len(line) == 0 {
			break // the empty line that ends the head
		}
		if h.nfields == len(h.fields) || bytes.IndexByte(line, '\n') >= 0 || bytes.IndexByte(line, '\r') >= 0 {
			return false
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) {
			return false // also a folded line, which starts with a space
		}
		v0, v1 := colon+1, len(line)
		for v0 < v1 && (line[v0] == ' ' || line[v0] == '\t') {
			v0++
		}
		for v1 > v0 && (line[v1-1] == ' ' || line[v1-1] == '\t') {
			v1--
		}
		value := line[v0:v1]
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return false
			}
		}
		name := line[:colon]
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if h.contentLength >= 0 {
				return false
			}
			n, ok := parseLength(value)
			if !ok || n == 0 || n > smallBodyBytes {
				return false
			}
			h.contentLength = n
		case asciiEqualFold(name, "Host"):
			hosts++
			if hosts > 1 || !plainHost(value) {
				return false
			}
			h.hostField = h.nfields
		case asciiEqualFold(name, "Connection"):
			switch {
			case asciiEqualFold(value, "close"):
				h.close = true
			case asciiEqualFold(value, "keep-alive"):
			default:
				return false
			}
		case asciiEqualFold(name, "Transfer-Encoding"), asciiEqualFold(name, "Expect"),
			asciiEqualFold(name, "Upgrade"), asciiEqualFold(name, "Trailer"):
			return false
		}
		h.fields[h.nfields] = fieldSpan{off, off + colon, off + v0, off + v1}
		h.nfields++
		off += len(line) + 2
	}
	return hosts == 1 && h.contentLength > 0
}

// fastBody reports whether the fast path may serve a call with this
// body. Calls that may wait for processes (start…, stop…, and
// system.multicall, which may hold them) go to net/http, which abandons
// them when their client hangs up; so does any body with a character
// reference, comment, CDATA or DOCTYPE, which could spell a method name
// this plain search would miss.
func fastBody(body []byte) bool {
	if bytes.Contains(body, []byte("&#")) || bytes.Contains(body, []byte("<!")) {
		return false
	}
	for _, word := range []string{"start", "stop", "multicall"} {
		if containsFold(body, word) {
			return false
		}
	}
	return true
}

// isToken reports whether b is a non-empty HTTP token (RFC 9110).
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0:
		default:
			return false
		}
	}
	return true
}

// plainHost accepts the Host values clients send (a name or address and
// a port): letters, digits and . - _ : [ ]. Anything else is net/http's
// to judge.
func plainHost(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']':
		default:
			return false
		}
	}
	return true
}

// asciiEqualFold compares b with the ASCII string s, ignoring case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lowerASCII(b[i]) != lowerASCII(s[i]) {
			return false
		}
	}
	return true
}

// containsFold reports whether b contains the lower-case ASCII word in
// any case.
func containsFold(b []byte, word string) bool {
	for i := 0; i+len(word) <= len(b); i++ {
		if lowerASCII(b[i]) == word[0] && asciiEqualFold(b[i:i+len(word)], word) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
