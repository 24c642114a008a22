package pyrepr

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The cases go through Python's own repr() (Debian's /usr/bin/python3, as
// the reference runs under it) and ours must print the same.
var strCases = []string{
	"", "plain", "it's", `say "hi"`, `both ' and "`, `back\slash`,
	"tab\tnl\ncr\r", "\x00\x1b[31m\x7f", "caf\u00e9", "\u00a0nbsp", "\u00ad soft hyphen",
	"\u200b zero width", "\u2028 line sep", "\U0001F600 emoji", "\U000E0001 tag",
	"\ufffd replacement", "bad \xff\xfe bytes",
}

func TestAgainstPython(t *testing.T) {
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s missing (run `make deps`): %v", python, err)
	}
	// Strings travel as latin-1-safe byte lists so invalid UTF-8 survives.
	var in [][]int
	for _, c := range strCases {
		bs := []int{}
		for i := 0; i < len(c); i++ {
			bs = append(bs, int(c[i]))
		}
		in = append(in, bs)
	}
	payload, _ := json.Marshal(in)
	script := `
import json, sys
out = []
for bs in json.load(sys.stdin):
    raw = bytes(bs)
    out.append([repr(raw.decode('utf-8', 'surrogateescape')), repr(raw)])
json.dump(out, sys.stdout)
`
	cmd := exec.Command(python, "-c", script)
	cmd.Stdin = strings.NewReader(string(payload))
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want [][2]string
	if err := json.Unmarshal(got, &want); err != nil {
		t.Fatal(err)
	}
	for i, c := range strCases {
		if s := Str(c); s != want[i][0] {
			t.Errorf("Str(%q) = %s, Python says %s", c, s, want[i][0])
		}
		if s := Bytes([]byte(c)); s != want[i][1] {
			t.Errorf("Bytes(%q) = %s, Python says %s", c, s, want[i][1])
		}
	}
}

func TestList(t *testing.T) {
	if got, want := List([]string{"a", "b'c"}), `['a', "b'c"]`; got != want {
		t.Errorf("List = %s, want %s", got, want)
	}
	if got := List(nil); got != "[]" {
		t.Errorf("List(nil) = %s, want []", got)
	}
}
