package rpc

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/pyrepr"
)

// The reference hands each decoded parameter to its Python method as it
// is (a <base64> arrives as a str, a <nil/> as None) and lets Python
// decide: int() of an offset, the truth of a wait flag, str() of a name
// in a fault text. Clients see those answers, so the helpers below give
// a decoded value the same treatment.

// pyString is the value as a Python str, when the reference has one:
// <string> and <base64> both arrive as str.
func pyString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

// pyStr is Python's str() of a decoded value, as the reference formats
// a parameter into a fault text ("BAD_NAME: 5", "BAD_NAME: [1]").
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case float64:
		return pyFloat(x)
	case time.Time:
		return x.Format("2006-01-02 15:04:05")
	case []any:
		items := make([]string, len(x))
		for i, item := range x {
			items[i] = pyRepr(item)
		}
		return "[" + strings.Join(items, ", ") + "]"
	case map[string]any:
		keys := pyKeys(x)
		items := make([]string, len(keys))
		for i, k := range keys {
			items[i] = pyrepr.Str(k) + ": " + pyRepr(x[k])
		}
		return "{" + strings.Join(items, ", ") + "}"
	}
	return "?"
}

// pyKeys are a struct's member names in the order the reference's dict
// would hold them. That is the request's order, which the decoder has
// lost: they come sorted (a one-member struct, the usual case, is the
// same either way).
func pyKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// pyRepr is Python's repr() of a decoded value, as str() shows the
// items of a list or dict.
func pyRepr(v any) string {
	switch x := v.(type) {
	case string:
		return pyrepr.Str(x)
	case []byte:
		return pyrepr.Str(string(x))
	case time.Time:
		fields := []int{x.Year(), int(x.Month()), x.Day(), x.Hour(), x.Minute()}
		if x.Second() != 0 {
			fields = append(fields, x.Second())
		}
		parts := make([]string, len(fields))
		for i, n := range fields {
			parts[i] = strconv.Itoa(n)
		}
		return "datetime.datetime(" + strings.Join(parts, ", ") + ")"
	}
	return pyStr(v)
}

// pyFloat is repr() of a Python float: the shortest digits that read
// back the same, fixed notation from 1e-4 up to 1e16, always with a
// fraction or an exponent.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// pyTruth is the value's truth in Python, as the reference tests a wait
// flag: empty strings, arrays and structs, zero and <nil/> are false.
func pyTruth(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []byte:
		return len(x) != 0
	case []any:
		return len(x) != 0
	case map[string]any:
		return len(x) != 0
	}
	return true // a dateTime
}

// pyInt is Python's int() of the value, as the reference converts an
// offset or a length; false where int() raises.
func pyInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) >= math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case string, []byte:
		s, _ := pyString(v)
		n, err := config.PyInt(s)
		return n, err == nil
	}
	return 0, false
}

// pyHashable reports whether the value can key a Python dict: a list or
// a dict cannot (looking one up raises TypeError).
func pyHashable(v any) bool {
	switch v.(type) {
	case []any, map[string]any:
		return false
	}
	return true
}

// pyTypeName is the name of the value's Python type, as exception texts
// print it.
func pyTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int:
		return "int"
	case float64:
		return "float"
	case string, []byte:
		return "str"
	case time.Time:
		return "datetime.datetime"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return "object"
}

// signalText is the signal parameter as the engine parses it. The
// reference takes int() of the value when it can (so <int>9, <boolean>1
// and <double>15.0 are signals), else the text as a name; a value that is
// neither stays as its str(), which no signal is named, and so faults
// BAD_SIGNAL with the text the reference would print.
func signalText(v any) string {
	if s, ok := pyString(v); ok {
		return s
	}
	if n, ok := pyInt(v); ok {
		digits := strconv.FormatInt(n, 10)
		if _, err := config.ParseSignal(digits); err == nil {
			return digits
		}
	}
	return pyStr(v)
}
