package config

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"gosupervisor/internal/pyrepr"
)

// Python's int(str, base) as the reference's Python (3.11) runs it, for
// bases 8 and 10: every integer value of a config goes through it.
//
//   - A string with a non-ASCII character is first rewritten: characters
//     below U+007F stay, Unicode whitespace becomes a space, a Unicode
//     decimal digit (category Nd, e.g. U+0663 ARABIC-INDIC DIGIT THREE)
//     becomes its ASCII digit, and anything else ends the string as an
//     invalid character. An all-ASCII string is left alone, so the ASCII
//     separators U+001C..U+001F, which str.isspace() counts, are not
//     whitespace here.
//   - ASCII whitespace (space, \t \n \v \f \r) around the number, then an
//     optional sign, for base 8 an optional 0o or 0O prefix that may be
//     followed by one underscore, then digits with single underscores
//     between them.
//   - In base 10, more than 4300 digits is an error of its own (Python's
//     limit against slow conversions), checked before what follows the
//     digits.
//   - The error repeats the value's repr, cut to 200 characters.
//
// Python's integers have no size limit; beyond 64 bits Load refuses the
// value ("integer … is too large"), where the reference accepts it and
// fails later (an HTTP 500 for startretries, for instance).

// pyMaxStrDigits is sys.get_int_max_str_digits()'s default.
const pyMaxStrDigits = 4300

// pyInt parses s as Python's int(s, base) for base 8 or 10.
func pyInt(s string, base int) (int64, error) {
	t := pyIntASCII(s)
	i := 0
	skipSpace := func() {
		for i < len(t) && strings.IndexByte(" \t\n\v\f\r", t[i]) >= 0 {
			i++
		}
	}
	skipSpace()
	neg := false
	if i < len(t) && (t[i] == '+' || t[i] == '-') {
		neg = t[i] == '-'
		i++
	}
	if base == 8 && i+1 < len(t) && t[i] == '0' && (t[i+1] == 'o' || t[i+1] == 'O') {
		i += 2
		if i < len(t) && t[i] == '_' {
			i++
		}
	}
	if i < len(t) && t[i] == '_' {
		return 0, invalidLiteral(s, base)
	}
	var (
		n        uint64
		digits   int
		overflow bool
		prev     byte
	)
	for ; i < len(t); i++ {
		c := t[i]
		if c == '_' {
			if prev == '_' {
				return 0, invalidLiteral(s, base)
			}
			prev = c
			continue
		}
		d := int(c) - '0'
		if d < 0 || d >= base {
			break
		}
		digits++
		if n > (1<<63)/uint64(base) {
			overflow = true
		}
		n = n*uint64(base) + uint64(d)
		if n > 1<<63 {
			overflow = true
		}
		prev = c
	}
	if prev == '_' {
		return 0, invalidLiteral(s, base)
	}
	if base == 10 && digits > pyMaxStrDigits {
		return 0, fmt.Errorf("Exceeds the limit (%d digits) for integer string conversion: value has %d digits; use sys.set_int_max_str_digits() to increase the limit", pyMaxStrDigits, digits)
	}
	skipSpace()
	if digits == 0 || i != len(t) {
		return 0, invalidLiteral(s, base)
	}
	if overflow || (n == 1<<63 && !neg) {
		return 0, &tooLargeError{s}
	}
	if neg {
		return -int64(n), nil
	}
	return int64(n), nil
}

// PyInt is Python's int(s) for a str (base 10), with int()'s error texts;
// see above for what it accepts.
func PyInt(s string) (int64, error) { return pyInt(s, 10) }

// pyIntASCII is the rewrite int() makes of a string with non-ASCII
// characters (see above); '?' stands for the first character that is
// neither whitespace nor a decimal digit, and ends the string.
func pyIntASCII(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch d, isDigit := pyDecimal(r); {
		case r < 0x7f:
			b.WriteRune(r)
		case pyIsSpace(r):
			b.WriteByte(' ')
		case isDigit:
			b.WriteByte(byte('0' + d))
		default:
			b.WriteByte('?')
			return b.String()
		}
	}
	return b.String()
}

// pyDigitZeros are the DIGIT ZERO of every run of ten Unicode decimal
// digits (category Nd) beyond ASCII, in Unicode 14.0, the version of the
// reference's Python 3.11 (unicodedata.unidata_version). Go's unicode
// tables are newer (15.0 adds Kawi and Nag Mundari digits, which the
// reference rejects), hence a table of our own.
var pyDigitZeros = []rune{
	0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6,
	0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50,
	0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
	0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
	0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
	0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
}

// pyDecimal is unicodedata.decimal(r) for a non-ASCII r: its value and
// whether r is a decimal digit at all.
func pyDecimal(r rune) (int, bool) {
	i := sort.Search(len(pyDigitZeros), func(i int) bool { return pyDigitZeros[i] > r }) - 1
	if i < 0 || r-pyDigitZeros[i] > 9 {
		return 0, false
	}
	return int(r - pyDigitZeros[i]), true
}

// tooLargeError refuses an integer beyond 64 bits, which Python would
// accept.
type tooLargeError struct{ value string }

func (e *tooLargeError) Error() string { return fmt.Sprintf("integer %s is too large", e.value) }

// invalidLiteral is int()'s error, whose repr of the value is cut to 200
// characters (the C format "%.200R").
func invalidLiteral(s string, base int) error {
	repr := []rune(pyrepr.Str(s))
	if len(repr) > 200 {
		repr = repr[:200]
	}
	return fmt.Errorf("invalid literal for int() with base %d: %s", base, string(repr))
}
