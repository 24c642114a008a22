package logrot

import "bytes"

// isANSITerminator reports whether c ends an escape sequence: one of
// "HfABCDRsuJKhlpm", as in the reference's stripEscapes.
func isANSITerminator(c byte) bool {
	switch c {
	case 'H', 'f', 'A', 'B', 'C', 'D', 'R', 's', 'u', 'J', 'K', 'h', 'l', 'p', 'm':
		return true
	}
	return false
}

// indexTerminator is the index of the first terminator in b, or -1.
func indexTerminator(b []byte) int {
	for i, c := range b {
		if isANSITerminator(c) {
			return i
		}
	}
	return -1
}

// StripANSI removes ANSI escape sequences from chunk in place and returns
// the shortened slice: from each "ESC [" up to and including the first of
// the characters H f A B C D R s u J K h l p m. An unterminated sequence
// runs to the end of the chunk. Like the reference, each chunk is handled
// on its own (a sequence split across two reads leaves its tail in the
// second). Usable directly as a Pump filter; it never allocates.
func StripANSI(chunk []byte) []byte {
	i := bytes.Index(chunk, []byte("\x1b["))
	if i < 0 {
		return chunk
	}
	out := i
	for i < len(chunk) {
		// i is at "ESC [": skip to the first terminator after it. The
		// reference starts looking at the '[' itself (never a terminator).
		end := indexTerminator(chunk[i+1:])
		if end < 0 {
			return chunk[:out]
		}
		i += 1 + end + 1
		next := bytes.Index(chunk[i:], []byte("\x1b["))
		if next < 0 {
			out += copy(chunk[out:], chunk[i:])
			return chunk[:out]
		}
		out += copy(chunk[out:], chunk[i:i+next])
		i += next
	}
	return chunk[:out]
}
