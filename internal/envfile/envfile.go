// Package envfile reads environment files the way systemd's
// EnvironmentFile= does (systemd.exec(5); the parser is env-file.c's
// parse_env_file_internal, the loading rules exec_context_load_environment
// in execute.c): KEY=VALUE lines with shell-like quoting, `-`-prefixed
// optional entries and glob(3) patterns. gosupervisor reads them for
// environment_file= just before each spawn.
//
// The rules, as systemd v254 and later apply them:
//   - A line ends at \n or \r. Blank lines are skipped; a line whose first
//     non-blank character is # or ; is a comment (a trailing \ does not
//     continue it; systemd 252 and older continued it).
//   - Blanks around the key are dropped; a line without = is ignored. Keys
//     that are not shell variable names ("export A", "A-B", "1A") are
//     dropped one by one and reported.
//   - An unquoted value loses its leading and trailing blanks; \x stands
//     for x and \ before a line end continues the value on the next line.
//   - '…' is taken verbatim (line ends included); "…" too, except that \
//     before " \ ` $ stands for that character and \ before \n continues
//     the line (\ before anything else is kept). After a closing quote the
//     parser is back before a value: A='x' y gives xy.
//   - An unterminated quote runs to the end of the file; there is no $
//     expansion and no inline comment.
//   - A NUL byte anywhere, or a key or value that is not valid UTF-8,
//     fails the whole file; of two assignments to one key the later wins.
//
// The package has no state and does no logging: problems a file may have
// without failing come back as data.
package envfile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Var is one variable a file sets.
type Var struct {
	Key, Value string
}

// assignment is one KEY=VALUE the scanner found, before any check.
type assignment struct {
	key   string
	value string
	// null is systemd's NULL value: no value character at all (A=, A='').
	// EnvironmentFile= sets such a key to ""; the environment.d generator
	// rejects it, which the differential test models.
	null bool
	line int // 1-based line of the key
}

// The character classes of env-file.c.
const (
	newline    = "\n\r"
	whitespace = " \t\n\r"
	comments   = "#;"
	// shellNeedEscape are the characters a backslash escapes inside "…".
	shellNeedEscape = "\"\\`$"
)

// The scanner's states, env-file.c's.
type scanState int

const (
	preKey scanState = iota
	inKey
	preValue
	inValue
	valueEscape
	singleQuote
	doubleQuote
	doubleQuoteEscape
	comment
	commentEscape
)

// scan runs systemd's state machine over data and returns every
// assignment it pushes, in order. continueComments selects systemd 252's
// rule (a backslash before a line end continues a comment), which the
// differential test needs to compare with the parser installed here.
func scan(data []byte, continueComments bool) []assignment {
	var (
		out        []assignment
		key, value []byte
		null       = true
		// Where trailing blanks of the key and of an unquoted value begin
		// (-1: none pending).
		keyBlank, valueBlank = -1, -1
		state                = preKey
		line, keyLine        = 1, 1
	)
	push := func(chompValue bool) {
		if chompValue && valueBlank >= 0 {
			value = value[:valueBlank]
		}
		if keyBlank >= 0 {
			key = key[:keyBlank]
		}
		out = append(out, assignment{key: string(key), value: string(value), null: null, line: keyLine})
		key, value, null = key[:0], value[:0], true
	}
	appendValue := func(c byte) {
		value = append(value, c)
		null = false
	}
	is := func(set string, c byte) bool { return strings.IndexByte(set, c) >= 0 }
	for _, c := range data {
		switch state {
		case preKey:
			switch {
			case is(comments, c):
				state = comment
			case !is(whitespace, c):
				state, keyBlank, keyLine = inKey, -1, line
				key = append(key, c)
			}
		case inKey:
			switch {
			case is(newline, c):
				state, key = preKey, key[:0]
			case c == '=':
				state, valueBlank = preValue, -1
			default:
				if !is(whitespace, c) {
					keyBlank = -1
				} else if keyBlank < 0 {
					keyBlank = len(key)
				}
				key = append(key, c)
			}
		case preValue:
			switch {
			case is(newline, c):
				state = preKey
				push(false)
			case c == '\'':
				state = singleQuote
			case c == '"':
				state = doubleQuote
			case c == '\\':
				state = valueEscape
			case !is(whitespace, c):
				state = inValue
				appendValue(c)
			}
		case inValue:
			switch {
			case is(newline, c):
				state = preKey
				push(true)
			case c == '\\':
				state, valueBlank = valueEscape, -1
			default:
				if !is(whitespace, c) {
					valueBlank = -1
				} else if valueBlank < 0 {
					valueBlank = len(value)
				}
				appendValue(c)
			}
		case valueEscape:
			// A backslash before a line end continues the value.
			state = inValue
			if !is(newline, c) {
				appendValue(c)
			}
		case singleQuote:
			if c == '\'' {
				state = preValue
			} else {
				appendValue(c)
			}
		case doubleQuote:
			switch c {
			case '"':
				state = preValue
			case '\\':
				state = doubleQuoteEscape
			default:
				appendValue(c)
			}
		case doubleQuoteEscape:
			state = doubleQuote
			switch {
			case is(shellNeedEscape, c):
				appendValue(c)
			case c != '\n':
				// Kept with its backslash, as a shell keeps it.
				appendValue('\\')
				appendValue(c)
			}
		case comment:
			switch {
			case c == '\\':
				state = commentEscape
			case is(newline, c):
				state = preKey
			}
		case commentEscape:
			switch {
			case continueComments:
				state = comment
			case is(newline, c):
				state = preKey
			default:
				state = comment
			}
		}
		if c == '\n' {
			line++
		}
	}
	switch state {
	case preValue, inValue, valueEscape, singleQuote, doubleQuote, doubleQuoteEscape:
		push(state == inValue)
	}
	return out
}

// Parse reads the contents of one environment file. It returns the
// variables in the order their keys first appear (with the last value
// given), and the keys dropped because they are not valid names. An
// error (invalid UTF-8) means the file as a whole is unusable.
func Parse(data []byte) (vars []Var, invalid []string, err error) {
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, nil, errors.New("the file contains a NUL byte")
	}
	assigned, err := checkUTF8(scan(data, false))
	if err != nil {
		return nil, nil, err
	}
	return clean(assigned)
}

// checkUTF8 is load_env_file_push's check, made before anything is kept:
// one bad key or value fails the file.
func checkUTF8(as []assignment) ([]assignment, error) {
	for _, a := range as {
		if !validUTF8(a.key) {
			return nil, fmt.Errorf("line %d: invalid UTF-8 in key %q", a.line, a.key)
		}
		if !validUTF8(a.value) {
			return nil, fmt.Errorf("line %d: invalid UTF-8 in the value of %s", a.line, a.key)
		}
	}
	return as, nil
}

// clean applies the assignments in order (a later one replaces the value
// of an earlier one with the same name, in place), then drops those whose
// name or value the environment cannot carry, as strv_env_clean does.
func clean(as []assignment) (vars []Var, invalid []string, err error) {
	index := map[string]int{}
	for _, a := range as {
		// systemd joins key=value and compares names up to the first =.
		name, _, _ := strings.Cut(a.key, "=")
		if i, ok := index[name]; ok {
			vars[i] = Var{a.key, a.value}
			continue
		}
		index[name] = len(vars)
		vars = append(vars, Var{a.key, a.value})
	}
	kept := vars[:0]
	for _, v := range vars {
		if !ValidName(v.Key) || len(v.Key)+1+len(v.Value) > argMax-1 {
			invalid = append(invalid, v.Key)
			continue
		}
		kept = append(kept, v)
	}
	return kept, invalid, nil
}

// argMax is sysconf(_SC_ARG_MAX) under the usual 8 MiB stack limit
// (a quarter of it), which systemd applies to one variable: no longer
// assignment reaches a program's environment.
const argMax = 2 << 20

// ValidName reports whether k can name an environment variable for
// systemd: letters, digits and _, not starting with a digit.
func ValidName(k string) bool {
	if k == "" || len(k) > argMax-2 || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// validUTF8 is systemd's utf8_is_valid: well-formed UTF-8 whose code
// points are neither surrogates nor the noncharacters U+FDD0…U+FDEF and
// U+xxFFFE/U+xxFFFF.
func validUTF8(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return false
		}
		if r >= 0xFDD0 && r <= 0xFDEF || r&0xFFFE == 0xFFFE {
			return false
		}
		i += n
	}
	return true
}
