package config

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gosupervisor/internal/testenv"
)

// iniPieces are the fragments random INI texts are built from: the
// characters that matter to RawConfigParser's line rules.
var iniPieces = []string{
	"[", "]", "=", ":", ";", "#", " ", "\t", "\n", "\n", "\n", "a", "b", "K", "[s]", "[DEFAULT]",
	"[s]\n", "k=v", " ;c", " #c", "x", "\n  ", "'", "\"", "é", "\r\n", "\u00a0",
}

func randomINI(r *rand.Rand) string {
	var b strings.Builder
	if r.Intn(4) > 0 {
		b.WriteString("[s]\n")
	}
	for n := r.Intn(25); n > 0; n-- {
		b.WriteString(iniPieces[r.Intn(len(iniPieces))])
	}
	return b.String()
}

// iniDump renders our reader's result in refini.py's shape.
func iniDump(text string) map[string]any {
	f := newIniFile()
	if err := f.read([]byte(text), "t.conf"); err != nil {
		return map[string]any{"error": err.Error()}
	}
	pairs := func(s *iniSection) [][]string {
		out := [][]string{}
		for _, k := range s.keys {
			out = append(out, []string{k, s.values[k]})
		}
		return out
	}
	sections := []any{}
	for _, name := range f.order {
		sections = append(sections, []any{name, pairs(f.sections[name])})
	}
	return map[string]any{"sections": sections, "defaults": pairs(f.defaults)}
}

// TestIniReaderMatchesReference parses hand-picked and random texts with
// the reference's parser class and with ours.
func TestIniReaderMatchesReference(t *testing.T) {
	texts := []string{
		"[s]\nk = v ; c\nk2: v2 # c\nk3=a;b#c\n",
		"[s]\nk=a#b #c ;d\n",
		"[s]\nk=v\n  cont\n\n  after blank\n\n\nnext=1\n",
		"[s]\nk=\n  a\n  b\n",
		"[s]\n  indented=1\n   more\n",
		"[s]\n[t\nk=v\n[u] x ]y\nk=1\n",
		"k=v\n[s]\n",
		"[s]\nnovalue\n=x\n",
		"[DEFAULT]\nd=1\n[s]\nK=2\n[s]\nk=3\n",
		"[s]\nk=v\n  ; comment in value\n  x\n",
		"[s]\r\nk=v\r\n",
		"[s]\nk=v ;\n",
		"\ufeff[s]\n",
		"[s]\nk\t=\tv\t\n",
		"[]\n[s]\n",
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 400; i++ {
		texts = append(texts, randomINI(r))
	}
	in, err := json.Marshal(texts)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.Python3, filepath.Join(testenv.RepoRoot(), "config", "testdata", "refini.py"))
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("refini.py: %v\n%s", err, stderr.String())
	}
	var ref []any
	if err := json.Unmarshal(out, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref) != len(texts) {
		t.Fatalf("%d results for %d texts", len(ref), len(texts))
	}
	failures := 0
	for i, text := range texts {
		got := normalize(t, iniDump(text))
		if !reflect.DeepEqual(got, ref[i]) {
			failures++
			if failures <= 10 {
				t.Errorf("text %q:\nours      %v\nreference %v", text, got, ref[i])
			}
		}
	}
	if failures > 10 {
		t.Errorf("... %d texts differ in all", failures)
	}
}
