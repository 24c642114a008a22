package config

import (
	"os"
	"regexp"
	"strings"
)

// pyGlob is Python's glob.glob(pattern) (non-recursive): "*", "?" and
// "[...]" ("[!...]" negates) match within one path component, wildcards
// never match a leading ".", and matched paths keep the pattern's
// spelling ("./", "//") instead of being cleaned.
func pyGlob(pattern string) []string {
	dir, base := pySplit(pattern)
	if !hasMagic(pattern) {
		if base != "" {
			if _, err := os.Lstat(pattern); err == nil {
				return []string{pattern}
			}
		} else if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return []string{pattern}
		}
		return nil
	}
	if dir == "" {
		return globInDir("", base)
	}
	dirs := []string{dir}
	if dir != pattern && hasMagic(dir) {
		dirs = pyGlob(dir)
	}
	var out []string
	for _, d := range dirs {
		var names []string
		if hasMagic(base) {
			names = globInDir(d, base)
		} else if base == "" {
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				names = []string{""}
			}
		} else if _, err := os.Lstat(pyJoin(d, base)); err == nil {
			names = []string{base}
		}
		for _, n := range names {
			out = append(out, pyJoin(d, n))
		}
	}
	return out
}

func hasMagic(s string) bool { return strings.ContainsAny(s, "*?[") }

// pySplit is os.path.split.
func pySplit(p string) (string, string) {
	i := strings.LastIndexByte(p, '/') + 1
	head, tail := p[:i], p[i:]
	if head != "" && strings.Trim(head, "/") != "" {
		head = strings.TrimRight(head, "/")
	}
	return head, tail
}

// pyJoin is os.path.join for two parts.
func pyJoin(a, b string) string {
	if strings.HasPrefix(b, "/") || a == "" {
		return b
	}
	if strings.HasSuffix(a, "/") {
		return a + b
	}
	return a + "/" + b
}

// globInDir lists the names in dir matching one pattern component.
func globInDir(dir, pattern string) []string {
	d := dir
	if d == "" {
		d = "."
	}
	entries, err := os.ReadDir(d)
	if err != nil {
		return nil
	}
	re, err := regexp.Compile(fnmatchRegexp(pattern))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") && !strings.HasPrefix(pattern, ".") {
			continue
		}
		if re.MatchString(name) {
			out = append(out, name)
		}
	}
	return out
}

// fnmatchRegexp translates a shell pattern as Python's fnmatch.translate.
func fnmatchRegexp(pat string) string {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	r := []rune(pat)
	for i := 0; i < len(r); {
		c := r[i]
		i++
		switch c {
		case '*':
			for i < len(r) && r[i] == '*' {
				i++
			}
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i
			if j < len(r) && r[j] == '!' {
				j++
			}
			if j < len(r) && r[j] == ']' {
				j++
			}
			for j < len(r) && r[j] != ']' {
				j++
			}
			if j >= len(r) {
				b.WriteString(`\[`)
				continue
			}
			stuff := string(r[i:j])
			i = j + 1
			stuff = strings.ReplaceAll(stuff, `\`, `\\`)
			switch {
			case strings.HasPrefix(stuff, "!"):
				stuff = "^" + stuff[1:]
			case strings.HasPrefix(stuff, "^"), strings.HasPrefix(stuff, "["):
				stuff = `\` + stuff
			}
			b.WriteString("[" + stuff + "]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`$`)
	return b.String()
}
