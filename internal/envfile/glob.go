package envfile

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
)

// Glob expands an absolute pattern as glob(3) without flags does, which is
// how systemd expands EnvironmentFile=: *, ? and [...] (with ! or ^,
// ranges and [:class:]) match within one path component, a name starting
// with . is matched only by a literal ., \ quotes the next character, and
// the matches come sorted. Directories that cannot be read contribute
// nothing. A pattern without wildcards names its one file, which is
// returned (unquoted) without looking whether it exists: opening it says.
func Glob(pattern string) ([]string, error) {
	comps := strings.FieldsFunc(pattern, func(r rune) bool { return r == '/' })
	magic := false
	for _, c := range comps {
		magic = magic || hasMagic(c)
	}
	if !magic {
		for i, c := range comps {
			comps[i] = unquote(c)
		}
		return []string{"/" + strings.Join(comps, "/")}, nil
	}
	paths := []string{"/"}
	for i, c := range comps {
		last := i == len(comps)-1
		var next []string
		for _, dir := range paths {
			if !hasMagic(c) {
				p := filepath.Join(dir, unquote(c))
				if last {
					if _, err := os.Lstat(p); err != nil {
						continue
					}
				}
				next = append(next, p)
				continue
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				continue
			}
			for _, e := range entries {
				if match(c, e.Name()) {
					next = append(next, filepath.Join(dir, e.Name()))
				}
			}
		}
		paths = next
	}
	sort.Strings(paths)
	return paths, nil
}

// hasMagic reports whether a pattern component has an unquoted wildcard
// (a [ counts only with its closing ]).
func hasMagic(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '*', '?':
			return true
		case '[':
			if _, _, ok := bracketEnd(p, i); ok {
				return true
			}
		}
	}
	return false
}

// unquote removes the backslashes of a component without wildcards.
func unquote(p string) string {
	if !strings.Contains(p, `\`) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) {
			i++
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// match is fnmatch(3) with FNM_PERIOD on one path component.
func match(pattern, name string) bool {
	if strings.HasPrefix(name, ".") && !strings.HasPrefix(pattern, ".") && !strings.HasPrefix(pattern, `\.`) {
		return false
	}
	return matchFrom([]rune(pattern), []rune(name))
}

func matchFrom(p, s []rune) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			if len(p) == 0 {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if matchFrom(p, s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
			p, s = p[1:], s[1:]
		case '[':
			end, set, ok := bracketEnd(string(p), 0)
			if !ok {
				// A [ without its ] is an ordinary character.
				if len(s) == 0 || s[0] != '[' {
					return false
				}
				p, s = p[1:], s[1:]
				continue
			}
			if len(s) == 0 || !set(s[0]) {
				return false
			}
			p, s = []rune(string(p)[end:]), s[1:]
		case '\\':
			if len(p) > 1 {
				p = p[1:]
			}
			fallthrough
		default:
			if len(s) == 0 || s[0] != p[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return len(s) == 0
}

// class is the test of a POSIX character class of bracket expressions
// (nil for an unknown name).
func class(name string) func(rune) bool {
	switch name {
	case "alnum":
		return func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	case "alpha":
		return unicode.IsLetter
	case "blank":
		return func(r rune) bool { return r == ' ' || r == '\t' }
	case "cntrl":
		return unicode.IsControl
	case "digit":
		return func(r rune) bool { return r >= '0' && r <= '9' }
	case "graph":
		return func(r rune) bool { return unicode.IsGraphic(r) && !unicode.IsSpace(r) }
	case "lower":
		return unicode.IsLower
	case "print":
		return unicode.IsPrint
	case "punct":
		return unicode.IsPunct
	case "space":
		return unicode.IsSpace
	case "upper":
		return unicode.IsUpper
	case "xdigit":
		return func(r rune) bool { return strings.ContainsRune("0123456789abcdefABCDEF", r) }
	}
	return nil
}

// bracketEnd parses the bracket expression starting at p[start] ('['):
// the byte offset just past its ']', and the set it matches. ok is false
// when there is no closing ']' (or the expression is malformed), in which
// case the '[' is an ordinary character.
func bracketEnd(p string, start int) (end int, set func(rune) bool, ok bool) {
	rs := []rune(p[start+1:])
	i := 0
	negate := false
	if i < len(rs) && (rs[i] == '!' || rs[i] == '^') {
		negate, i = true, i+1
	}
	var tests []func(rune) bool
	first := true
	for i < len(rs) {
		c := rs[i]
		if c == ']' && !first {
			end = start + 1 + len(string(rs[:i+1]))
			return end, func(r rune) bool {
				for _, t := range tests {
					if t(r) {
						return !negate
					}
				}
				return negate
			}, true
		}
		first = false
		if c == '[' && i+1 < len(rs) && rs[i+1] == ':' {
			rest := string(rs[i+2:])
			if j := strings.Index(rest, ":]"); j >= 0 {
				f := class(rest[:j])
				if f == nil {
					return 0, nil, false
				}
				tests = append(tests, f)
				i += 2 + len([]rune(rest[:j])) + 2
				continue
			}
		}
		if c == '\\' && i+1 < len(rs) {
			i++
			c = rs[i]
		}
		lo := c
		i++
		if i+1 < len(rs) && rs[i] == '-' && rs[i+1] != ']' {
			hi := rs[i+1]
			i += 2
			if hi == '\\' && i < len(rs) {
				hi = rs[i]
				i++
			}
			tests = append(tests, func(r rune) bool { return r >= lo && r <= hi })
			continue
		}
		tests = append(tests, func(r rune) bool { return r == lo })
	}
	return 0, nil, false
}
