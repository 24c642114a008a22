package rpc

import (
	"math"
	"testing"
	"time"
)

// The expected texts are what Python 3.11 prints for the value the
// reference's decoder makes of the same XML-RPC value.
func TestPyStr(t *testing.T) {
	t.Parallel()
	date := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		v    any
		want string
	}{
		{"x", "x"},
		{[]byte("ab"), "ab"},
		{nil, "None"},
		{true, "True"},
		{false, "False"},
		{5, "5"},
		{-7, "-7"},
		{1.5, "1.5"},
		{1e16, "1e+16"},
		{1e15, "1000000000000000.0"},
		{1e-05, "1e-05"},
		{0.0001, "0.0001"},
		{123456789012345678.0, "1.2345678901234568e+17"},
		{math.Copysign(0, -1), "-0.0"},
		{1234567.0, "1234567.0"},
		{2.5e-7, "2.5e-07"},
		{math.Inf(1), "inf"},
		{math.NaN(), "nan"},
		{date, "2020-01-02 03:04:05"},
		{[]any{1, "a", 1.5, nil, true, map[string]any{"k": []any{2}}, "it's"}, `[1, 'a', 1.5, None, True, {'k': [2]}, "it's"]`},
		{[]any{date, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}, "[datetime.datetime(2020, 1, 2, 3, 4, 5), datetime.datetime(2020, 1, 1, 0, 0)]"},
		{map[string]any{"b": 1, "a": "x"}, "{'a': 'x', 'b': 1}"},
		{[]any{}, "[]"},
	}
	for _, c := range cases {
		if got := pyStr(c.v); got != c.want {
			t.Errorf("pyStr(%#v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestPyConversions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		v      any
		truth  bool
		n      int64
		intOK  bool
		signal string // what signalText hands the engine
	}{
		{"HUP", true, 0, false, "HUP"},
		{"", false, 0, false, ""},
		{" 12 ", true, 12, true, " 12 "},
		{"1_0", true, 10, true, "1_0"},
		{"1__0", true, 0, false, "1__0"},
		{[]byte("7"), true, 7, true, "7"},
		{9, true, 9, true, "9"},
		{0, false, 0, true, "0"},
		{999, true, 999, true, "999"},
		{true, true, 1, true, "1"},
		{false, false, 0, true, "0"}, // SIG_DFL is in the reference's list of signals
		{15.9, true, 15, true, "15"},
		{0.0, false, 0, true, "0"},
		{99.5, true, 99, true, "99.5"}, // no signal 99: BAD_SIGNAL: 99.5
		{math.NaN(), true, 0, false, "nan"},
		{nil, false, 0, false, "None"},
		{[]any{}, false, 0, false, "[]"},
		{[]any{1}, true, 0, false, "[1]"},
		{map[string]any{}, false, 0, false, "{}"},
		{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), true, 0, false, "2020-01-01 00:00:00"},
	}
	for _, c := range cases {
		if got := pyTruth(c.v); got != c.truth {
			t.Errorf("pyTruth(%#v) = %v, want %v", c.v, got, c.truth)
		}
		if n, ok := pyInt(c.v); ok != c.intOK || n != c.n {
			t.Errorf("pyInt(%#v) = %d, %v, want %d, %v", c.v, n, ok, c.n, c.intOK)
		}
		if got := signalText(c.v); got != c.signal {
			t.Errorf("signalText(%#v) = %q, want %q", c.v, got, c.signal)
		}
	}
}
