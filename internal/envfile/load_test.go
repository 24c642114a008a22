package envfile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestParseEntries(t *testing.T) {
	tests := []struct {
		in      string
		want    []Entry
		wantErr string
	}{
		{in: "", want: nil},
		{in: "/a.env", want: []Entry{{Pattern: "/a.env"}}},
		{in: " /a.env , -/b/*.env,,", want: []Entry{{Pattern: "/a.env"}, {Pattern: "/b/*.env", Optional: true}}},
		{in: "-rel.env, /a", want: []Entry{{Pattern: "/a"}}},
		{in: "rel.env", wantErr: `environment_file "rel.env" is not an absolute path`},
		{in: "/a, ./b", wantErr: `"./b" is not an absolute path`},
	}
	for _, tt := range tests {
		got, err := ParseEntries(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseEntries(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseEntries(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*.env", "a.env", true},
		{"*.env", ".a.env", false},
		{".*.env", ".a.env", true},
		{`\.*`, ".a", true},
		{"?.env", "ab.env", false},
		{"?.env", "é.env", true},
		{"[ab].env", "b.env", true},
		{"[!ab].env", "b.env", false},
		{"[^ab].env", "c.env", true},
		{"[a-c]x", "bx", true},
		{"[a-c]x", "dx", false},
		{"[]]", "]", true},
		{"[[:digit:]]*", "7up", true},
		{"[[:digit:]]*", "up", false},
		{"[[:bogus:]]", "b", false},
		{"[ab", "[ab", true},
		{`\*`, "*", true},
		{`\*`, "a", false},
		{"*", "", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
	}
	for _, tt := range tests {
		if got := match(tt.pattern, tt.name); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestGlob(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b.env", "a.env", ".hidden.env", "c.txt", "sub/x.env", "sub2/y.env", "star*"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		pattern string
		want    []string
	}{
		{dir + "/*.env", []string{dir + "/a.env", dir + "/b.env"}},
		{dir + "/*/*.env", []string{dir + "/sub/x.env", dir + "/sub2/y.env"}},
		{dir + "/sub*/x.env", []string{dir + "/sub/x.env"}},
		{dir + "/*.none", nil},
		{dir + "/missing.env", []string{dir + "/missing.env"}},
		{dir + `/star\*`, []string{dir + "/star*"}},
		{dir + "/st*", []string{dir + "/star*"}},
	}
	for _, tt := range tests {
		got, err := Glob(tt.pattern)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Glob(%q) = %q, %v; want %q", tt.pattern, got, err, tt.want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.env", "A=1\nSHARED=a\n")
	b := write("b.env", "B=2\nSHARED=b\nexport X=1\n")
	bad := write("bad.env", "OK=1\nBAD=\xff\n")
	nul := write("nul.env", "A=1\x00")
	big := write("big.env", "A="+strings.Repeat("x", MaxFileSize))
	fifo := filepath.Join(dir, "fifo.env")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir.env"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		entries     []Entry
		want        []Var
		wantDropped []Dropped
		wantErr     string
	}{
		{name: "in order, later wins", entries: []Entry{{Pattern: a}, {Pattern: b}},
			want:        []Var{{"A", "1"}, {"SHARED", "b"}, {"B", "2"}},
			wantDropped: []Dropped{{Path: b, Keys: []string{"export X"}}}},
		{name: "glob in sorted order", entries: []Entry{{Pattern: dir + "/[ab].env"}},
			want:        []Var{{"A", "1"}, {"SHARED", "b"}, {"B", "2"}},
			wantDropped: []Dropped{{Path: b, Keys: []string{"export X"}}}},
		{name: "missing", entries: []Entry{{Pattern: a}, {Pattern: dir + "/missing.env"}},
			wantErr: "can't read environment_file " + dir + "/missing.env: No such file or directory"},
		{name: "missing optional", entries: []Entry{{Pattern: dir + "/missing.env", Optional: true}, {Pattern: a}},
			want: []Var{{"A", "1"}, {"SHARED", "a"}}},
		{name: "no match", entries: []Entry{{Pattern: dir + "/*.none"}},
			wantErr: "can't read environment_file " + dir + "/*.none: No such file or directory"},
		{name: "no match optional", entries: []Entry{{Pattern: dir + "/*.none", Optional: true}}},
		{name: "invalid UTF-8", entries: []Entry{{Pattern: bad}},
			wantErr: "can't read environment_file " + bad + ": line 2: invalid UTF-8 in the value of BAD"},
		{name: "invalid UTF-8 optional sets nothing of it", entries: []Entry{{Pattern: a}, {Pattern: bad, Optional: true}},
			want: []Var{{"A", "1"}, {"SHARED", "a"}}},
		{name: "NUL", entries: []Entry{{Pattern: nul}}, wantErr: "contains a NUL byte"},
		{name: "too large", entries: []Entry{{Pattern: big}}, wantErr: ": larger than 4 MiB"},
		{name: "FIFO refused without blocking", entries: []Entry{{Pattern: fifo}}, wantErr: fifo + ": not a regular file"},
		{name: "directory", entries: []Entry{{Pattern: dir + "/adir.env"}}, wantErr: "adir.env: not a regular file"},
		{name: "directory optional", entries: []Entry{{Pattern: dir + "/adir.env", Optional: true}}},
	}
	open := func(path string) (*os.File, error) {
		return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dropped, err := Load(tt.entries, open)
			if tt.wantErr != "" {
				var le *Error
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &le) {
					t.Fatalf("Load error = %v, want an *Error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Load = %q, want %q", got, tt.want)
			}
			if len(dropped) != len(tt.wantDropped) {
				t.Fatalf("dropped = %v, want %v", dropped, tt.wantDropped)
			}
			for i := range dropped {
				if dropped[i].Path != tt.wantDropped[i].Path || !slices.Equal(dropped[i].Keys, tt.wantDropped[i].Keys) {
					t.Errorf("dropped[%d] = %v, want %v", i, dropped[i], tt.wantDropped[i])
				}
			}
		})
	}
}
