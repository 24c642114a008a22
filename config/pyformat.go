package config

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gosupervisor/internal/pyrepr"
)

// expansions are the names a value may reference as %(name)s. Values are
// string or int, as in the reference.
type expansions map[string]any

func (e expansions) clone() expansions {
	out := make(expansions, len(e))
	for k, v := range e {
		out[k] = v
	}
	return out
}

// merge returns e updated with every entry of others, in order.
func (e expansions) merge(others ...expansions) expansions {
	out := e.clone()
	for _, o := range others {
		for k, v := range o {
			out[k] = v
		}
	}
	return out
}

// expand applies Python's `s % mapping` and wraps failures the way
// Supervisor's expand() does, naming the option.
func expand(s string, exp expansions, name string) (string, error) {
	out, err := pyFormat(s, exp)
	if err == nil {
		return out, nil
	}
	if ke, ok := err.(missingKeyError); ok {
		names := make([]string, 0, len(exp))
		for k := range exp {
			names = append(names, k)
		}
		sort.Strings(names)
		return "", fmt.Errorf("Format string %s for %s contains names (%s) which cannot be expanded. Available names: %s",
			pyrepr.Str(s), pyrepr.Str(name), pyrepr.Str(string(ke)), strings.Join(names, ", "))
	}
	return "", fmt.Errorf("Format string %s for %s is badly formatted: %v", pyrepr.Str(s), pyrepr.Str(name), err)
}

// missingKeyError is Python's KeyError from a %(name) lookup.
type missingKeyError string

func (e missingKeyError) Error() string { return pyrepr.Str(string(e)) }

// pyFormat implements Python's printf-style formatting with a mapping
// argument. A %s/%r/%a without a %(key) would print the whole mapping in
// Python; it is rejected here instead.
func pyFormat(s string, exp expansions) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	conversions := 0
	var refused error
	i := 0
	for i < len(s) {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			i++
			continue
		}
		i++
		if i >= len(s) {
			return "", fmt.Errorf("incomplete format")
		}
		if s[i] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		var key string
		hasKey := false
		if s[i] == '(' {
			depth := 1
			j := i + 1
			for j < len(s) && depth > 0 {
				switch s[j] {
				case '(':
					depth++
				case ')':
					depth--
				}
				j++
			}
			if depth > 0 {
				return "", fmt.Errorf("incomplete format key")
			}
			key = s[i+1 : j-1]
			hasKey = true
			i = j
		}
		var spec fmtSpec
		for i < len(s) && strings.IndexByte("-+ #0", s[i]) >= 0 {
			spec.flags += string(s[i])
			i++
		}
		if i < len(s) && s[i] == '*' {
			return "", fmt.Errorf("* wants int")
		}
		ws := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i > ws {
			w, err := strconv.Atoi(s[ws:i])
			if err != nil {
				return "", fmt.Errorf("width too big")
			}
			spec.width = w
		}
		spec.prec = -1
		if i < len(s) && s[i] == '.' {
			i++
			if i < len(s) && s[i] == '*' {
				return "", fmt.Errorf("* wants int")
			}
			ps := i
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			p, err := strconv.Atoi("0" + s[ps:i])
			if err != nil {
				return "", fmt.Errorf("precision too big")
			}
			spec.prec = p
		}
		if i < len(s) && strings.IndexByte("hlL", s[i]) >= 0 {
			i++ // one length modifier, ignored as Python does
		}
		if i >= len(s) {
			return "", fmt.Errorf("incomplete format")
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		convIndex := utf8.RuneCountInString(s[:i])
		i += size
		// Python fetches the argument before it checks the conversion.
		var v any
		if hasKey {
			var ok bool
			if v, ok = exp[key]; !ok {
				return "", missingKeyError(key)
			}
		} else {
			// Without a key Python formats the whole mapping, but only as
			// the first conversion: any earlier one used up the argument.
			if conversions > 0 {
				return "", fmt.Errorf("not enough arguments for format string")
			}
			v = wholeMapping{}
		}
		if !strings.ContainsRune("sradiuoxXeEfFgGc", r) {
			return "", fmt.Errorf("unsupported format character %s (0x%x) at index %d", pyrepr.Str(string(r)), r, convIndex)
		}
		conversions++
		if _, whole := v.(wholeMapping); whole && strings.ContainsRune("sra", r) {
			// Python prints the repr of the whole mapping here; we refuse,
			// but only after the rest of the string has had its chance to
			// fail the way it fails in Python. Precision 0 prints nothing.
			if spec.prec != 0 && refused == nil {
				refused = fmt.Errorf("%%%c without a %%(name) would format the whole mapping (write %%%% for a literal %%)", r)
			}
			b.WriteString(spec.pad("", false, ""))
			continue
		}
		out, err := formatOne(r, spec, v)
		if err != nil {
			return "", err
		}
		b.WriteString(out)
	}
	if refused != nil {
		return "", refused
	}
	return b.String(), nil
}

type fmtSpec struct {
	flags string
	width int
	prec  int
}

func (f fmtSpec) has(c byte) bool { return strings.IndexByte(f.flags, c) >= 0 }

// pad applies width and the '-' / '0' flags.
func (f fmtSpec) pad(body string, numeric bool, sign string) string {
	n := utf8.RuneCountInString(body) + len(sign)
	if n >= f.width {
		return sign + body
	}
	fill := f.width - n
	switch {
	case f.has('-'):
		return sign + body + strings.Repeat(" ", fill)
	case f.has('0') && numeric:
		return sign + strings.Repeat("0", fill) + body
	default:
		return strings.Repeat(" ", fill) + sign + body
	}
}

// wholeMapping stands for the expansions mapping itself, which Python
// formats when a conversion has no %(key).
type wholeMapping struct{}

func typeName(v any) string {
	switch v.(type) {
	case int:
		return "int"
	case wholeMapping:
		return "dict"
	default:
		return "str"
	}
}

func formatOne(conv rune, spec fmtSpec, v any) (string, error) {
	switch conv {
	case 's', 'r', 'a':
		var text string
		switch x := v.(type) {
		case int:
			text = strconv.Itoa(x)
		case string:
			text = x
			if conv != 's' {
				text = pyrepr.Str(x)
			}
		}
		if spec.prec >= 0 && utf8.RuneCountInString(text) > spec.prec {
			text = string([]rune(text)[:spec.prec])
		}
		return spec.pad(text, false, ""), nil
	case 'd', 'i', 'u', 'o', 'x', 'X':
		n, ok := v.(int)
		if !ok {
			if conv == 'd' || conv == 'i' || conv == 'u' {
				return "", fmt.Errorf("%%%c format: a real number is required, not %s", conv, typeName(v))
			}
			return "", fmt.Errorf("%%%c format: an integer is required, not %s", conv, typeName(v))
		}
		sign := ""
		if n < 0 {
			sign = "-"
			n = -n
		} else if spec.has('+') {
			sign = "+"
		} else if spec.has(' ') {
			sign = " "
		}
		var digits string
		switch conv {
		case 'o':
			digits = strconv.FormatInt(int64(n), 8)
		case 'x':
			digits = strconv.FormatInt(int64(n), 16)
		case 'X':
			digits = strings.ToUpper(strconv.FormatInt(int64(n), 16))
		default:
			digits = strconv.Itoa(n)
		}
		if spec.prec > len(digits) {
			digits = strings.Repeat("0", spec.prec-len(digits)) + digits
		}
		if spec.has('#') {
			switch conv {
			case 'o':
				sign += "0o"
			case 'x':
				sign += "0x"
			case 'X':
				sign += "0X"
			}
		}
		return spec.pad(digits, true, sign), nil
	case 'e', 'E', 'f', 'F', 'g', 'G':
		n, ok := v.(int)
		if !ok {
			return "", fmt.Errorf("must be real number, not %s", typeName(v))
		}
		x := float64(n)
		prec := spec.prec
		if prec < 0 {
			prec = 6
		}
		sign := ""
		if math.Signbit(x) {
			sign = "-"
			x = -x
		} else if spec.has('+') {
			sign = "+"
		} else if spec.has(' ') {
			sign = " "
		}
		var body string
		switch conv {
		case 'e', 'E':
			body = strconv.FormatFloat(x, 'e', prec, 64)
		case 'f', 'F':
			body = strconv.FormatFloat(x, 'f', prec, 64)
		default:
			if prec == 0 {
				prec = 1
			}
			body = strconv.FormatFloat(x, 'g', prec, 64)
			if spec.has('#') {
				body = alternateG(x, prec)
			}
		}
		if conv == 'E' || conv == 'G' {
			body = strings.ToUpper(body)
		}
		return spec.pad(body, true, sign), nil
	case 'c':
		switch x := v.(type) {
		case int:
			if x < 0 || x > 0x10ffff {
				return "", fmt.Errorf("%%c arg not in range(0x110000)")
			}
			return spec.pad(string(rune(x)), false, ""), nil
		case string:
			if utf8.RuneCountInString(x) != 1 {
				return "", fmt.Errorf("%%c requires int or char")
			}
			return spec.pad(x, false, ""), nil
		default:
			return "", fmt.Errorf("%%c requires int or char")
		}
	}
	return "", fmt.Errorf("unsupported format character %s", pyrepr.Str(string(conv)))
}

// alternateG is Python's "%#.<prec>g": like %g but keeping trailing zeros
// and the decimal point.
func alternateG(x float64, prec int) string {
	exp := 0
	if x != 0 {
		e := strconv.FormatFloat(x, 'e', prec-1, 64)
		exp, _ = strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	}
	var body string
	if exp >= -4 && exp < prec {
		body = strconv.FormatFloat(x, 'f', prec-1-exp, 64)
	} else {
		body = strconv.FormatFloat(x, 'e', prec-1, 64)
	}
	if !strings.Contains(body, ".") {
		if i := strings.IndexByte(body, 'e'); i >= 0 {
			body = body[:i] + "." + body[i:]
		} else {
			body += "."
		}
	}
	return body
}
