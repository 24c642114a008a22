package config

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unicode"

	"gosupervisor/internal/testenv"
)

// valueCases are fed to both the reference's parsers and ours.
var valueCases = []struct{ kind, input string }{
	{"bool", "true"}, {"bool", "YES"}, {"bool", "On"}, {"bool", "1"}, {"bool", "no"}, {"bool", "FALSE"},
	{"bool", "off"}, {"bool", "0"}, {"bool", "maybe"}, {"bool", ""}, {"bool", " yes"}, {"bool", "2"},
	{"int", "10"}, {"int", " 10 "}, {"int", "-3"}, {"int", "+4"}, {"int", "1_000"}, {"int", "1.5"},
	{"int", ""}, {"int", "010"}, {"int", "00"}, {"int", "1__0"}, {"int", "_1"}, {"int", "abc"},
	{"int", "٣"}, {"int", " ٣ "}, {"int", "+٣"}, {"int", "-３"}, {"int", "٣_٣"}, {"int", "𝟗"}, {"int", "\u00a01\u2003"},
	{"int", "\u30001\u3000"}, {"int", "\u00851"}, {"int", "\x1c5"}, {"int", "\x1c5\u00a0"}, {"int", "²"}, {"int", "1\u200b"},
	{"int", "1\x7f"}, {"int", "٣\x00"}, {"int", "1 0"}, {"int", "- 1"},
	{"int", "+_1"}, {"int", "0_0"}, {"int", "٠٠7"}, {"int", "1_"}, {"int", "\v\f1\r\n"}, {"int", "9223372036854775807"},
	{"int", "-9223372036854775808"}, {"int", "99999999999999999999"}, {"int", "-9223372036854775809"}, {"int", strings.Repeat("x", 300)}, {"int", strings.Repeat("é", 250)},
	{"int", strings.Repeat("1", 4301)}, {"int", strings.Repeat("1", 4301) + "x"}, {"int", strings.Repeat("1_", 4300) + "1"},
	{"int", strings.Repeat("٣", 4301)}, {"int", strings.Repeat("0", 4300)},
	{"octal", "٧"}, {"octal", "0o٧"}, {"octal", "0o_7"}, {"octal", "0_o7"}, {"octal", "-0o7"}, {"octal", "0o"}, {"octal", "８"},
	{"octal", " 0O1_7 "}, {"octal", "\u00a0022"}, {"octal", strings.Repeat("7", 5000)[:30]},
	{"bytes", "٣KB"}, {"bytes", " ٣ mb"}, {"bytes", "1_0GB"}, {"bytes", "٣\u00a0gb"}, {"bytes", "9999999999GB"},
	{"signal", "٩"}, {"signal", " ١٥ "}, {"signal", "+9"}, {"exitcodes", "٠,٣"}, {"exitcodes", " ٢ , 1_0 "},
	{"inet", "٩٠٠١"}, {"inet", "h:٩٠٠١"}, {"inet", "h: 80"},
	{"bytes", "1024"}, {"bytes", "1KB"}, {"bytes", "1kb"}, {"bytes", "5MB"}, {"bytes", "2gB"},
	{"bytes", " 10 MB"}, {"bytes", "10b"}, {"bytes", "1.5MB"}, {"bytes", "MB"}, {"bytes", "10K"},
	{"bytes", "-1KB"}, {"bytes", ""}, {"bytes", "0"}, {"bytes", "b"},
	{"octal", "022"}, {"octal", "0o22"}, {"octal", "22"}, {"octal", "0777"}, {"octal", "8"},
	{"octal", ""}, {"octal", " 7 "}, {"octal", "0O7"}, {"octal", "0x7"},
	{"signal", "TERM"}, {"signal", "sigterm"}, {"signal", " Hup "}, {"signal", "9"}, {"signal", "99"},
	{"signal", "RTMIN+1"}, {"signal", "SIGRTMIN"}, {"signal", "rtmax"}, {"signal", "0"}, {"signal", "_DFL"},
	{"signal", "IOT"}, {"signal", "CLD"}, {"signal", "32"}, {"signal", "-1"}, {"signal", ""}, {"signal", "KILL9"},
	{"exitcodes", "0"}, {"exitcodes", "0,2"}, {"exitcodes", " 1 , 2 "}, {"exitcodes", ""},
	{"exitcodes", "256"}, {"exitcodes", "-1"}, {"exitcodes", "0,,1"}, {"exitcodes", "a"}, {"exitcodes", "255"},
	{"autorestart", "true"}, {"autorestart", "False"}, {"autorestart", "UNEXPECTED"}, {"autorestart", "sometimes"},
	{"kv", "A=1"}, {"kv", "A=1,B=2"}, {"kv", `A="x,y",B='z'`}, {"kv", "A=a b"}, {"kv", "X=$HOME"},
	{"kv", "A="}, {"kv", `A=""`}, {"kv", "A=1,B"}, {"kv", "P=/usr/bin:/bin,V=1.2+3-(4)"},
	{"kv", `'K'=v`}, {"kv", "A=1;B=2"}, {"kv", "A=1 # comment,B=2"}, {"kv", "A=x#y\nB=2"},
	{"kv", `A="unclosed`}, {"kv", `A=a"b,c"`}, {"kv", "A=1,A=2,B=3"}, {"kv", ""}, {"kv", "=,=,="},
	{"kv", "A = 1 , B = 2"}, {"kv", "É=1"}, {"kv", `A="a b" "c"`},
	{"split", "/bin/echo a b"}, {"split", `/bin/sh -c "echo \"hi\""`}, {"split", `a\ b 'c d' ""`},
	{"split", `'unclosed`}, {"split", `trailing\`}, {"split", `"a\x"`}, {"split", `a"b"c`}, {"split", ""},
	{"split", "  spaced   out  "}, {"split", `x # not a comment`}, {"split", `"esc\\"`}, {"split", `"tail\`},
	{"inet", "9001"}, {"inet", "127.0.0.1:9001"}, {"inet", ":9001"}, {"inet", "*:9001"},
	{"inet", "LOCALHOST:80"}, {"inet", "localhost:"}, {"inet", "host:0"}, {"inet", "host:70000"},
	{"inet", "abc"}, {"inet", "[::1]:9001"}, {"inet", "0"},
	{"loglevel", "info"}, {"loglevel", "WARN"}, {"loglevel", "warning"}, {"loglevel", "blather"},
	{"loglevel", "Critical"}, {"loglevel", "trace"}, {"loglevel", "debug"}, {"loglevel", "error"},
	{"name", "ok"}, {"name", " padded "}, {"name", "a b"}, {"name", "a:b"}, {"name", "a/b"}, {"name", "a'b"},
	{"format", "plain"}, {"format", "%(here)s/x"}, {"format", "100%%"}, {"format", "100%"},
	{"format", "%(process_num)02d"}, {"format", "%(process_num)x %(process_num)#X %(process_num)#o"},
	{"format", "%(program_name).2s|%(program_name)-6s|%(program_name)6s"}, {"format", "%(process_num)+d % d"},
	{"format", "%(nosuch)s"}, {"format", "%(program_name)d"}, {"format", "%(program_name)x"},
	{"format", "%(process_num)5.3d"}, {"format", "%(process_num)r %(ENV_X)r"}, {"format", "%(process_num)c"},
	{"format", "%(process_num)f %(numprocs)e %(numprocs)g %(process_num)E"}, {"format", "%(here"},
	{"format", "%(here)"}, {"format", "%(here)5"}, {"format", "%y"}, {"format", "%(here)y"},
	{"format", "%(here)%"}, {"format", "%5%"}, {"format", "%d"}, {"format", "%x"}, {"format", "%e"},
	{"format", "%c"}, {"format", "%*d"}, {"format", "%.l"}, {"format", "%(here)hs"}, {"format", "%(a(b)c)s"},
	{"format", "%(program_name)c"}, {"format", "%(process_num)-4d|"}, {"format", "%(process_num)04x"},
	{"format", "%(ENV_X).1r"}, {"format", "ünïcode %(here)s"}, {"format", "%(numprocs)#g"},
	{"searchpaths", "supervisord"}, {"searchpaths", "/usr/bin/supervisord"}, {"searchpaths", "bin/supervisord"},
	{"searchpaths", "/supervisord"}, {"searchpaths", "./venv/bin/supervisord"}, {"searchpaths", "//x//bin//supervisord"},
	{"signame", "15"}, {"signame", "6"}, {"signame", "17"}, {"signame", "29"}, {"signame", "33"}, {"signame", "64"},
}

// randomValueCases builds deterministic random inputs for the parsers
// whose quirks are easiest to get subtly wrong.
func randomValueCases() []struct{ kind, input string } {
	pieces := map[string][]string{
		"format": {"%", "%", "(", ")", "here", "process_num", "ENV_X", "s", "d", "r", "x", "c", "0", "5", ".", "-", "+", "#", " ", "%%", "a", "l", "*"},
		"kv":     {"A", "B", "=", "=", ",", ",", "'", "\"", " ", "x", "1", "/", ".", ":", "#", "$", "-", "\n", "é", ";"},
		"split":  {"a", "b", " ", " ", "'", "\"", "\\", "#", "\t", "x y", "$", "é"},
		"bytes":  {"1", "0", "k", "K", "b", "B", "m", "g", " ", ".", "-", "_", "٣", "\u00a0"},
		"int":    {"1", "0", "_", " ", "-", "+", ".", "a", "٣", "３", "\u00a0", "\u2003", "\x1c", "²", "\t"},
		"octal":  {"7", "0", "8", "o", "O", "_", " ", "-", "+", "٧", "\u3000"},
	}
	r := rand.New(rand.NewSource(3))
	var out []struct{ kind, input string }
	for _, kind := range []string{"format", "kv", "split", "bytes", "int", "octal"} {
		for i := 0; i < 150; i++ {
			var b strings.Builder
			for n := 1 + r.Intn(8); n > 0; n-- {
				b.WriteString(pieces[kind][r.Intn(len(pieces[kind]))])
			}
			out = append(out, struct{ kind, input string }{kind, b.String()})
		}
	}
	return out
}

// wholeMappingDivergence recognises the one deliberate difference: where
// the reference formats the whole expansions mapping into the value (an
// unkeyed %s, %r or %a), we refuse the format string.
func wholeMappingDivergence(kind string, ref [2]any, ourErr error) bool {
	out, ok := ref[1].(string)
	return kind == "format" && ref[0] == true && ok && strings.Contains(out, "{'here': '/h'") &&
		ourErr != nil && strings.Contains(ourErr.Error(), "would format the whole mapping")
}

// bigIntDivergence recognises the other: an integer beyond 64 bits, which
// the reference accepts and we refuse.
func bigIntDivergence(ref [2]any, ourErr error) bool {
	n, ok := ref[1].(float64)
	return ref[0] == true && ok && math.Abs(n) >= 1<<63 && ourErr != nil && strings.Contains(ourErr.Error(), "is too large")
}

// ours evaluates one case with our parsers, in refvalues.py's shape.
func ours(kind, input string) (any, error) {
	switch kind {
	case "bool":
		return ParseBool(input)
	case "int":
		return ParseInteger(input)
	case "bytes":
		return ParseByteSize(input)
	case "octal":
		return ParseOctal(input)
	case "signal":
		s, err := ParseSignal(input)
		return int(s), err
	case "exitcodes":
		return ParseExitCodes(input)
	case "autorestart":
		a, err := ParseAutorestart(input)
		return map[Autorestart]string{AutorestartTrue: "true", AutorestartUnexpected: "unexpected", AutorestartFalse: "false"}[a], err
	case "kv":
		vars, err := ParseKeyValuePairs(input)
		pairs := [][]string{}
		for _, kv := range vars {
			pairs = append(pairs, []string{kv.Key, kv.Value})
		}
		sort.Slice(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
		return pairs, err
	case "split":
		args, err := SplitCommand(input)
		if args == nil {
			args = []string{}
		}
		return args, err
	case "inet":
		h, p, err := InetAddress(input)
		return []any{h, p}, err
	case "loglevel":
		l, err := ParseLogLevel(input)
		return int(l), err
	case "name":
		return processOrGroupName(input)
	case "format":
		return expand(input, expansions{"here": "/h", "program_name": "prog", "process_num": 7, "numprocs": 12, "ENV_X": "x y"}, "sec.key")
	case "searchpaths":
		return SearchPaths(input), nil
	case "signame":
		n, _ := strconv.Atoi(input)
		return SignalName(syscall.Signal(n)), nil
	}
	panic("unknown kind " + kind)
}

// TestValueParsersMatchReference runs every value case through the
// reference's own functions (one Python run) and through ours.
func TestValueParsersMatchReference(t *testing.T) {
	cases := append(append([]struct{ kind, input string }{}, valueCases...), randomValueCases()...)
	in, err := json.Marshal(func() [][]string {
		out := [][]string{}
		for _, c := range cases {
			out = append(out, []string{c.kind, c.input})
		}
		return out
	}())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.Python3, filepath.Join(testenv.RepoRoot(), "config", "testdata", "refvalues.py"))
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("refvalues.py: %v\n%s", err, stderr.String())
	}
	var ref [][2]any
	if err := json.Unmarshal(out, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref) != len(cases) {
		t.Fatalf("got %d reference results for %d cases", len(ref), len(cases))
	}
	for i, c := range cases {
		var got any
		v, err := ours(c.kind, c.input)
		if err != nil {
			got = normalize(t, []any{false, err.Error()})
		} else {
			got = normalize(t, []any{true, v})
		}
		want := normalize(t, ref[i][:])
		if wholeMappingDivergence(c.kind, ref[i], err) || bigIntDivergence(ref[i], err) {
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s(%q): ours %v, reference %v", c.kind, c.input, got, want)
		}
	}
}

// TestIntCharactersMatchReference classifies every character from U+007F
// up as the reference's int() sees it (a decimal digit and its value,
// whitespace, or neither) and compares with pyIntASCII. The reference's
// int() accepts exactly the characters str.isdecimal() or str.isspace()
// holds for; the script asks int() itself for those.
func TestIntCharactersMatchReference(t *testing.T) {
	script := `
import json, sys
out = {}
for c in range(0x7f, 0x110000):
    s = chr(c)
    if s.isdecimal():
        out[c] = int(s)
    elif s.isspace():
        out[c] = -1 if int(s + "1" + s) == 1 else -2
json.dump(out, sys.stdout)
`
	cmd := exec.Command(testenv.Python3, "-c", script)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var ref map[string]int
	if err := json.Unmarshal(out, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref) < 600 {
		t.Fatalf("the reference lists only %d digits and spaces", len(ref))
	}
	mismatches := 0
	for r := rune(0x7f); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r < 0xe000 {
			continue // surrogates are not in Go strings
		}
		got := -3 // neither
		switch t := pyIntASCII(string(r)); {
		case t == " ":
			got = -1
		case len(t) == 1 && t[0] >= '0' && t[0] <= '9':
			got = int(t[0] - '0')
		}
		want, listed := ref[strconv.Itoa(int(r))]
		if !listed {
			want = -3
		}
		if got != want {
			mismatches++
			if mismatches <= 10 {
				t.Errorf("U+%04X: ours %d, reference %d (-1 space, -3 neither)", r, got, want)
			}
		}
	}
	if mismatches > 10 {
		t.Errorf("%d characters differ in all", mismatches)
	}
}
