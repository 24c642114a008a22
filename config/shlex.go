package config

import (
	"errors"
	"fmt"
	"strings"
)

const (
	shlexWhitespace = " \t\r\n"
	shlexQuotes     = `'"`
	shlexWordChars  = "abcdfeghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
)

var errNoClosingQuotation = errors.New("No closing quotation")

// shlexClassic tokenizes s as Python's shlex.shlex(s) in its default
// (non-POSIX) mode with extra word characters: quotes stay in tokens, "#"
// starts a comment that runs to the end of the line, and every other
// character is a token by itself.
func shlexClassic(s string, extraWordChars string) ([]string, error) {
	word := shlexWordChars + extraWordChars
	in := []rune(s)
	pos := 0
	var pushback []rune
	next := func() (rune, bool) {
		if len(pushback) > 0 {
			r := pushback[0]
			pushback = pushback[1:]
			return r, true
		}
		if pos >= len(in) {
			return 0, false
		}
		r := in[pos]
		pos++
		return r, true
	}
	skipLine := func() {
		for pos < len(in) {
			r := in[pos]
			pos++
			if r == '\n' {
				return
			}
		}
	}
	isIn := func(r rune, set string) bool { return strings.ContainsRune(set, r) }

	var tokens []string
	for {
		state := ' '
		token := []rune{}
	scan:
		for {
			c, ok := next()
			switch {
			case state == ' ':
				switch {
				case !ok:
					break scan
				case isIn(c, shlexWhitespace):
					if len(token) > 0 {
						break scan
					}
				case c == '#':
					skipLine()
				case isIn(c, word):
					token = append(token, c)
					state = 'a'
				case isIn(c, shlexQuotes):
					token = append(token, c)
					state = c
				default:
					token = append(token, c)
					break scan
				}
			case state == '\'' || state == '"':
				if !ok {
					return nil, errNoClosingQuotation
				}
				token = append(token, c)
				if c == state {
					break scan
				}
			default: // word
				switch {
				case !ok:
					break scan
				case isIn(c, shlexWhitespace):
					break scan
				case c == '#':
					skipLine()
				case isIn(c, word) || isIn(c, shlexQuotes):
					token = append(token, c)
				default:
					pushback = append([]rune{c}, pushback...)
					break scan
				}
			}
		}
		if len(token) == 0 {
			return tokens, nil
		}
		tokens = append(tokens, string(token))
	}
}

// ParseKeyValuePairs is Supervisor's dict_of_key_value_pairs(): KEY=val
// pairs separated by commas, values optionally quoted. Like the reference,
// the separator token is skipped unchecked, so "A=a b" yields A=a. The
// result keeps first-seen key order; a repeated key takes the later value.
func ParseKeyValuePairs(s string) ([]EnvVar, error) {
	tokens, err := shlexClassic(s, "/.+-():")
	if err != nil {
		return nil, err
	}
	var out []EnvVar
	index := map[string]int{}
	for i := 0; i < len(tokens); i += 4 {
		if len(tokens)-i < 3 || tokens[i+1] != "=" {
			return nil, fmt.Errorf("Unexpected end of key/value pairs in value '%s'", s)
		}
		k, v := tokens[i], strings.Trim(tokens[i+2], `'"`)
		if j, ok := index[k]; ok {
			out[j].Value = v
			continue
		}
		index[k] = len(out)
		out = append(out, EnvVar{Key: k, Value: v})
	}
	return out, nil
}

// SplitCommand splits a command line as Python's shlex.split (POSIX mode,
// no comments): quotes group, backslash escapes outside single quotes.
func SplitCommand(s string) ([]string, error) {
	var (
		args    []string
		token   strings.Builder
		quoted  bool
		inToken bool
	)
	in := []rune(s)
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case strings.ContainsRune(shlexWhitespace, c):
			if inToken || quoted {
				args = append(args, token.String())
				token.Reset()
				inToken, quoted = false, false
			}
		case c == '\\':
			if i+1 >= len(in) {
				return nil, errors.New("No escaped character")
			}
			i++
			token.WriteRune(in[i])
			inToken = true
		case c == '\'' || c == '"':
			quote := c
			quoted = true
			inToken = true
			closed := false
			for i++; i < len(in); i++ {
				r := in[i]
				if r == quote {
					closed = true
					break
				}
				if quote == '"' && r == '\\' && i+1 < len(in) && (in[i+1] == '"' || in[i+1] == '\\') {
					i++
					r = in[i]
				} else if quote == '"' && r == '\\' && i+1 >= len(in) {
					return nil, errors.New("No escaped character")
				}
				token.WriteRune(r)
			}
			if !closed {
				return nil, errNoClosingQuotation
			}
		default:
			token.WriteRune(c)
			inToken = true
		}
	}
	if inToken || quoted {
		args = append(args, token.String())
	}
	return args, nil
}
