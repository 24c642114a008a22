package config

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"gosupervisor/internal/testenv"
)

func TestPyGlob(t *testing.T) {
	dir := testenv.WriteTree(t, map[string]string{
		"a.conf": "", "b.conf": "", ".hidden.conf": "", "a.conf.bak": "", "x[1].conf": "",
		"]odd.conf": "", "sub/c.conf": "", "sub/.d.conf": "",
	})
	tests := []struct {
		pattern string
		want    []string
	}{
		{"*.conf", []string{"]odd.conf", "a.conf", "b.conf", "x[1].conf"}},
		{".*.conf", []string{".hidden.conf"}},
		{"[!a]*.conf", []string{"]odd.conf", "b.conf", "x[1].conf"}},
		{"[]]*", []string{"]odd.conf"}},
		{"x[*", []string{"x[1].conf"}}, // an unmatched "[" is a literal
		{"x[[]1].conf", []string{"x[1].conf"}},
		{"*/c.conf", []string{"sub/c.conf"}},
		{"sub/*", []string{"sub/c.conf"}},
		{"a.conf", []string{"a.conf"}},
		{"missing.conf", nil},
		{"./a.con?", []string{"./a.conf"}},
	}
	for _, tt := range tests {
		got := pyGlob(filepath.Join(dir, tt.pattern))
		if tt.pattern == "./a.con?" {
			got = pyGlob(dir + "/" + tt.pattern)
		}
		var rel []string
		for _, g := range got {
			r, err := filepath.Rel(dir, g)
			if err != nil {
				t.Fatal(err)
			}
			if tt.pattern == "./a.con?" {
				r = g[len(dir)+1:]
			}
			rel = append(rel, r)
		}
		sort.Strings(rel)
		if !reflect.DeepEqual(rel, tt.want) {
			t.Errorf("pyGlob(%q) = %q, want %q", tt.pattern, rel, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x[1].conf")); err != nil {
		t.Fatal(err)
	}
}
