package ctl

import (
	"strings"
	"unicode/utf8"
)

// ljust pads s with spaces to width characters, like Python's %-Ns.
func ljust(s string, width int) string {
	if n := utf8.RuneCountInString(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

// splitNamespec splits "group:name"; a bare name is its own group, and
// "group:" or "group:*" mean the whole group (process "" with whole=true).
func splitNamespec(spec string) (group, process string, whole bool) {
	g, p, ok := strings.Cut(spec, ":")
	if !ok {
		return spec, spec, false
	}
	if p == "" || p == "*" {
		return g, "", true
	}
	return g, p, false
}

// makeNamespec is the short name of a process: "name" when the group has
// the same name, else "group:name".
func makeNamespec(group, name string) string {
	if group == name {
		return name
	}
	return group + ":" + name
}
