package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"gosupervisor/internal/testenv"
)

// The sample mirrors the reference's: the same sections and keys, in the
// same order, with the same values, commented out or not alike. Its
// comments are ours. Both are checked against the reference's
// echo_supervisord_conf output at test time.

var (
	sectionLine = regexp.MustCompile(`^;?\[[^\]]+\]`)
	settingLine = regexp.MustCompile(`^(;?)([A-Za-z_.]+)\s*=\s*(.*?)(\s+;.*)?$`)
)

// settings lists a sample's section headers and key=value lines in order,
// each with its leading ';' if commented out; inline comments dropped.
func settings(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if m := sectionLine.FindString(line); m != "" {
			out = append(out, m)
		} else if m := settingLine.FindStringSubmatch(line); m != nil {
			out = append(out, m[1]+m[2]+"="+m[3])
		}
	}
	return out
}

// comments returns a sample's prose: whole-line comments and the inline
// comments after values.
func comments(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "; ") || line == ";":
			out = append(out, line[1:])
		default:
			if m := settingLine.FindStringSubmatch(line); m != nil && m[4] != "" {
				out = append(out, strings.TrimSpace(m[4])[1:])
			}
		}
	}
	return out
}

func referenceSample(t *testing.T) string {
	t.Helper()
	testenv.RequireReference(t)
	out, err := exec.Command(testenv.PythonEchoConf).Output()
	if err != nil {
		t.Fatalf("%s: %v", testenv.PythonEchoConf, err)
	}
	return string(out)
}

func TestSampleSettingsMatchReference(t *testing.T) {
	want, got := settings(referenceSample(t)), settings(sample)
	if len(want) < 100 {
		t.Fatalf("only %d settings found in the reference's sample; the pattern is broken", len(want))
	}
	for i := 0; i < max(len(want), len(got)); i++ {
		w, g := "(none)", "(none)"
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			t.Fatalf("setting %d: ours %q, the reference's %q", i, g, w)
		}
	}
}

// TestSampleCommentsAreOurOwn fails if a comment of ours shares a run of
// six words with the reference's comments.
func TestSampleCommentsAreOurOwn(t *testing.T) {
	const n = 6
	words := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		})
	}
	theirs := map[string]bool{}
	// Their comments run on across lines; so may a copied phrase.
	w := words(strings.Join(comments(referenceSample(t)), " "))
	for i := 0; i+n <= len(w); i++ {
		theirs[strings.Join(w[i:i+n], " ")] = true
	}
	for _, c := range comments(sample) {
		w := words(c)
		for i := 0; i+n <= len(w); i++ {
			if s := strings.Join(w[i:i+n], " "); theirs[s] {
				t.Errorf("comment %q repeats the reference's words %q", c, s)
			}
		}
	}
}
