package rpc

import (
	"encoding/base64"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Struct is an XML-RPC struct whose members keep their order, so a
// response lists fields in the order the reference's dicts do.
type Struct []Member

// Member is one name/value pair of a Struct.
type Member struct {
	Name  string
	Value any
}

const (
	xmlDecl        = "<?xml version='1.0'?>\n"
	responseHead   = xmlDecl + "<methodResponse>\n<params>\n<param>\n"
	responseTail   = "</param>\n</params>\n</methodResponse>\n"
	faultHead      = xmlDecl + "<methodResponse>\n<fault>\n"
	faultTail      = "</fault>\n</methodResponse>\n"
	replacementStr = "\uFFFD"
)

// EncodeResponse returns the methodResponse document for v, byte for byte
// what Python's xmlrpc.client.dumps((v,), methodresponse=True) produces.
//
// Supported values: bool, int, int32, int64, float64, string, []byte
// (base64), time.Time (dateTime.iso8601, printed as given), Struct,
// map[string]any (members sorted by name), []any, []string, []int.
// Strings are escaped and made well-formed XML 1.0: see appendString.
func EncodeResponse(v any) ([]byte, error) {
	return appendResponse(make([]byte, 0, 256), v)
}

// appendResponse is EncodeResponse appending to buf.
func appendResponse(buf []byte, v any) ([]byte, error) {
	buf = append(buf, responseHead...)
	buf, err := appendValue(buf, v)
	if err != nil {
		return nil, err
	}
	return append(buf, responseTail...), nil
}

// EncodeFault returns the fault document for f, as Python's
// xmlrpc.client.dumps(Fault(code, string)) produces it.
func EncodeFault(f *Fault) []byte {
	buf := make([]byte, 0, 256)
	buf = append(buf, faultHead...)
	buf, _ = appendValue(buf, Struct{{"faultCode", int(f.Code)}, {"faultString", f.String}})
	return append(buf, faultTail...)
}

func appendValue(buf []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case bool:
		if x {
			buf = append(buf, "<value><boolean>1</boolean></value>\n"...)
		} else {
			buf = append(buf, "<value><boolean>0</boolean></value>\n"...)
		}
	case int:
		buf = appendInt(buf, int64(x))
	case int32:
		buf = appendInt(buf, int64(x))
	case int64:
		buf = appendInt(buf, x)
	case float64:
		buf = append(buf, "<value><double>"...)
		buf = appendPythonFloat(buf, x)
		buf = append(buf, "</double></value>\n"...)
	case string:
		buf = append(buf, "<value><string>"...)
		buf = appendString(buf, x)
		buf = append(buf, "</string></value>\n"...)
	case []byte:
		buf = append(buf, "<value><base64>\n"...)
		buf = appendBase64Lines(buf, x)
		buf = append(buf, "</base64></value>\n"...)
	case time.Time:
		buf = append(buf, "<value><dateTime.iso8601>"...)
		buf = x.AppendFormat(buf, "20060102T15:04:05")
		buf = append(buf, "</dateTime.iso8601></value>\n"...)
	case Struct:
		buf = append(buf, "<value><struct>\n"...)
		for _, m := range x {
			if buf, err = appendMember(buf, m.Name, m.Value); err != nil {
				return nil, err
			}
		}
		buf = append(buf, "</struct></value>\n"...)
	case map[string]any:
		names := make([]string, 0, len(x))
		for k := range x {
			names = append(names, k)
		}
		sort.Strings(names)
		buf = append(buf, "<value><struct>\n"...)
		for _, k := range names {
			if buf, err = appendMember(buf, k, x[k]); err != nil {
				return nil, err
			}
		}
		buf = append(buf, "</struct></value>\n"...)
	case []any:
		buf = append(buf, "<value><array><data>\n"...)
		for _, e := range x {
			if buf, err = appendValue(buf, e); err != nil {
				return nil, err
			}
		}
		buf = append(buf, "</data></array></value>\n"...)
	case []string:
		buf = append(buf, "<value><array><data>\n"...)
		for _, e := range x {
			buf, _ = appendValue(buf, e)
		}
		buf = append(buf, "</data></array></value>\n"...)
	case []int:
		buf = append(buf, "<value><array><data>\n"...)
		for _, e := range x {
			buf = appendInt(buf, int64(e))
		}
		buf = append(buf, "</data></array></value>\n"...)
	case valueAppender:
		buf = x.appendXMLValue(buf)
	default:
		return nil, fmt.Errorf("xml-rpc: cannot marshal %T", v)
	}
	return buf, nil
}

func appendMember(buf []byte, name string, v any) ([]byte, error) {
	buf = append(buf, "<member>\n<name>"...)
	buf = appendString(buf, name)
	buf = append(buf, "</name>\n"...)
	buf, err := appendValue(buf, v)
	if err != nil {
		return nil, err
	}
	return append(buf, "</member>\n"...), nil
}

// appendInt writes an <int>. Values beyond 32 bits are written as they
// are (Python's client reads any size); callers cap what the reference
// caps (timestamps).
func appendInt(buf []byte, n int64) []byte {
	buf = append(buf, "<value><int>"...)
	buf = strconv.AppendInt(buf, n, 10)
	return append(buf, "</int></value>\n"...)
}

// appendString escapes &, < and > as Python does, and keeps the document
// well-formed XML 1.0 where the reference would not: a byte that is not
// part of valid UTF-8, a control character other than tab, newline and
// carriage return (ESC of ANSI colours, NUL…), and U+FFFE/U+FFFF cannot
// appear in XML 1.0 even as character references, so each becomes U+FFFD.
// Every XML-RPC client can then parse the answer; `tail` of a log with
// colour codes or binary garbage shows "\uFFFD[31m" instead of failing.
func appendString(buf []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			var esc string
			switch {
			case c == '&':
				esc = "&amp;"
			case c == '<':
				esc = "&lt;"
			case c == '>':
				esc = "&gt;"
			case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
				esc = replacementStr
			default:
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			buf = append(buf, esc...)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == 0xFFFE || r == 0xFFFF {
			buf = append(buf, s[start:i]...)
			buf = append(buf, replacementStr...)
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(buf, s[start:]...)
}

// appendBase64Lines mirrors base64.encodebytes: lines of 76 characters,
// each ending in a newline.
func appendBase64Lines(buf []byte, b []byte) []byte {
	const lineBytes = 57 // 76 encoded characters
	for len(b) > 0 {
		n := min(len(b), lineBytes)
		buf = base64.StdEncoding.AppendEncode(buf, b[:n])
		buf = append(buf, '\n')
		b = b[n:]
	}
	return buf
}

// appendPythonFloat formats f as Python's repr(float) does: the shortest
// round-tripping digits, positional for exponents in [-4, 16), otherwise
// scientific with at least two exponent digits.
func appendPythonFloat(buf []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(buf, "inf"...)
	case math.IsInf(f, -1):
		return append(buf, "-inf"...)
	case math.IsNaN(f):
		return append(buf, "nan"...)
	}
	sci := strconv.FormatFloat(f, 'e', -1, 64) // e.g. -1.2345e+07
	mant, expStr, _ := strings.Cut(sci, "e")
	exp, _ := strconv.Atoi(expStr)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	if neg {
		buf = append(buf, '-')
	}
	if exp < -4 || exp >= 16 {
		buf = append(buf, digits[0])
		if len(digits) > 1 {
			buf = append(buf, '.')
			buf = append(buf, digits[1:]...)
		}
		buf = append(buf, 'e')
		if exp < 0 {
			buf = append(buf, '-')
			exp = -exp
		} else {
			buf = append(buf, '+')
		}
		if exp < 10 {
			buf = append(buf, '0')
		}
		return strconv.AppendInt(buf, int64(exp), 10)
	}
	if exp < 0 {
		buf = append(buf, "0."...)
		buf = append(buf, strings.Repeat("0", -exp-1)...)
		return append(buf, digits...)
	}
	if len(digits) <= exp+1 {
		buf = append(buf, digits...)
		buf = append(buf, strings.Repeat("0", exp+1-len(digits))...)
		return append(buf, ".0"...)
	}
	buf = append(buf, digits[:exp+1]...)
	buf = append(buf, '.')
	return append(buf, digits[exp+1:]...)
}
