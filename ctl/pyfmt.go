package ctl

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pyRepr formats s as Python's repr() of a str does, since the reference
// prints several values (bad channel names, fault strings) that way.
func pyRepr(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(quote):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r) && r != ' ':
			switch {
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

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
