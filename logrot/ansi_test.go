package logrot

import (
	"bytes"
	"testing"
)

// stripModel is the reference's escape stripping written as a byte-wise
// state machine: hidden from "ESC [" until a terminator, inclusive.
func stripModel(s []byte) []byte {
	out := []byte{}
	show := true
	for i := 0; i < len(s); i++ {
		switch {
		case !show:
			show = isANSITerminator(s[i])
		case s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[':
			show = false
			i++ // the '[' is never a terminator
		default:
			out = append(out, s[i])
		}
	}
	return out
}

func FuzzStripANSI(f *testing.F) {
	for _, seed := range []string{
		"", "plain\n", "\x1b[31mred\x1b[0m", "\x1b[", "\x1b", "[m", "\x1b[\x1b[m", "a\x1b[1;2;3Hb",
		"\x1b[?25l\x1b[?25h", "\xff\x1b[m\xfe", "\x1b[99", "x\x1bx[m",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want := stripModel(in)
		got := StripANSI(bytes.Clone(in))
		if !bytes.Equal(got, want) {
			t.Errorf("StripANSI(%q) = %q, want %q", in, got, want)
		}
	})
}
