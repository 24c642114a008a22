package logrot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// file87 is an 87-byte log, as in the checklist's examples.
func file87(t *testing.T) (path, content string) {
	t.Helper()
	var b strings.Builder
	for i := 0; b.Len() < 87; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	content = b.String()[:87]
	path = filepath.Join(t.TempDir(), "x.log")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, content
}

func TestReadRange(t *testing.T) {
	path, c := file87(t)
	tests := []struct {
		offset, length int64
		want           string
		wantErr        error
	}{
		{0, 0, c, nil},
		{10, 0, c[10:], nil},
		{0, 10, c[:10], nil},
		{80, 100, c[80:], nil},
		{87, 0, "", nil},
		{200, 5, "", nil},
		{-10, 0, c[77:], nil},
		{-1600, 0, c, nil},
		{-10, 5, "", ErrBadArguments},
		{0, -1, "", ErrBadArguments},
		{5, -5, "", ErrBadArguments},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d,%d", tt.offset, tt.length), func(t *testing.T) {
			got, err := readRange(path, tt.offset, tt.length)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if _, err := readRange(path+".nope", 0, 0); !errors.Is(err, ErrNoFile) {
			t.Errorf("err = %v, want ErrNoFile", err)
		}
	})
	t.Run("unreadable is FAILED", func(t *testing.T) {
		if _, err := readRange(t.TempDir(), 0, 0); !errors.Is(err, ErrFailed) {
			t.Errorf("reading a directory: err = %v, want ErrFailed", err)
		}
	})
}

func TestTail(t *testing.T) {
	path, c := file87(t)
	tests := []struct {
		offset, length int64
		want           string
		wantOverflow   bool
	}{
		{0, 10, c[77:], true},
		{0, 1000, c, false},
		{0, 87, c, false},
		{0, 86, c[1:], true},
		{87, 10, "", false},
		{100, 10, "", false},
		{50, 10, c[77:], true},
		{80, 10, c[77:], false}, // the reference's quirk: the last length bytes
		{86, 10, c[77:], false},
		{0, 0, "", true},
		{0, -5, "", true},
		{-5, 10, c[77:], true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d,%d", tt.offset, tt.length), func(t *testing.T) {
			got, next, overflow, err := tail(path, tt.offset, tt.length)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want || next != 87 || overflow != tt.wantOverflow {
				t.Errorf("got %q, %d, %v; want %q, 87, %v", got, next, overflow, tt.want, tt.wantOverflow)
			}
		})
	}
	t.Run("empty file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "e.log")
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		got, next, overflow, err := tail(p, 0, 100)
		if err != nil || len(got) != 0 || next != 0 || overflow {
			t.Errorf("got %q, %d, %v, %v", got, next, overflow, err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if _, _, _, err := tail(path+".nope", 0, 10); !errors.Is(err, ErrNoFile) {
			t.Errorf("err = %v, want ErrNoFile", err)
		}
	})
}

// TestReadDifferential runs the reference's readFile and tailFile on the
// same file and offsets.
func TestReadDifferential(t *testing.T) {
	testenv.RequireReference(t)
	path, _ := file87(t)
	var pairs [][2]int64
	for _, o := range []int64{-200, -87, -86, -10, -1, 0, 1, 10, 50, 77, 80, 86, 87, 88, 200} {
		for _, l := range []int64{-5, 0, 1, 10, 86, 87, 88, 1000} {
			pairs = append(pairs, [2]int64{o, l})
		}
	}
	var script strings.Builder
	script.WriteString("import sys\nfrom supervisor.options import readFile, tailFile\n")
	fmt.Fprintf(&script, "p = %q\n", path)
	for _, pr := range pairs {
		fmt.Fprintf(&script, `
try:
    r = readFile(p, %[1]d, %[2]d).hex()
except ValueError as e:
    r = e.args[0]
d, n, o = tailFile(p, %[1]d, %[2]d)
print(r, d.encode().hex(), n, o)
`, pr[0], pr[1])
	}
	want := runPython(t, script.String())
	var got strings.Builder
	for _, pr := range pairs {
		r := "BAD_ARGUMENTS"
		if b, err := readRange(path, pr[0], pr[1]); err == nil {
			r = fmt.Sprintf("%x", b)
		} else if !errors.Is(err, ErrBadArguments) {
			t.Fatalf("ReadRange(%d, %d) = %v", pr[0], pr[1], err)
		}
		d, n, o, err := tail(path, pr[0], pr[1])
		if err != nil {
			t.Fatal(err)
		}
		py := "False"
		if o {
			py = "True"
		}
		fmt.Fprintf(&got, "%s %x %d %s\n", r, d, n, py)
	}
	gotLines, wantLines := strings.Split(got.String(), "\n"), strings.Split(want, "\n")
	for i, pr := range pairs {
		if gotLines[i] != wantLines[i] {
			t.Errorf("(%d, %d): got %q, reference %q", pr[0], pr[1], gotLines[i], wantLines[i])
		}
	}
}

func TestFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	head := strings.Repeat("h", 2000) + "\n"
	w := mustOpen(t, path, 5000, 3)
	mustWrite(t, w, head)

	ctx, cancel := context.WithCancel(context.Background())
	var out testenv.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- follow(ctx, path, &out, func() {}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Follow = %v", err)
		}
	}()

	want := head[len(head)-FollowHead:]
	expect := func(what string) {
		t.Helper()
		testenv.Eventually(t, 10*time.Second, func() error {
			if got := out.String(); got != want {
				return fmt.Errorf("%s: followed %q…, want %q…", what, trunc(got), trunc(want))
			}
			return nil
		})
	}
	expect("head")

	mustWrite(t, w, "grow 1\n")
	want += "grow 1\n"
	expect("growth")

	// Rotation: the last bytes of the old file, then the new one from 0.
	big := strings.Repeat("r", 3000) + "\n"
	mustWrite(t, w, big) // reaches 5000: x.log → x.log.1
	mustWrite(t, w, "new file\n")
	want += big + "new file\n"
	expect("rotation")

	// Truncation in place: the marker, then the file from its start.
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if !strings.HasSuffix(out.String(), Truncated) {
			return errors.New("no truncation marker yet")
		}
		return nil
	})
	want += Truncated
	mustWrite(t, w, "after truncate\n")
	want += "after truncate\n"
	expect("truncation")

	// clearProcessLogs: a new inode with the same name.
	if err := w.Clear(); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "cleared\n")
	want += "cleared\n"
	expect("clear")
}

func trunc(s string) string {
	if len(s) > 60 {
		return "…" + s[len(s)-60:]
	}
	return s
}

func TestFollowMissingFile(t *testing.T) {
	err := follow(context.Background(), filepath.Join(t.TempDir(), "nope"), &testenv.SyncBuffer{}, func() {})
	if !errors.Is(err, ErrNoFile) {
		t.Errorf("Follow = %v, want ErrNoFile", err)
	}
}

func TestFollowSmallFileSentWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	if err := os.WriteFile(path, []byte("short\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out testenv.SyncBuffer
	flushes := make(chan struct{}, 100)
	done := make(chan error, 1)
	go func() { done <- follow(ctx, path, &out, func() { flushes <- struct{}{} }) }()
	select {
	case <-flushes:
	case <-time.After(10 * time.Second):
		t.Fatal("no flush")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if out.String() != "short\n" {
		t.Errorf("followed %q", out.String())
	}
}

// failingWriter fails every write, like a client that went away.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestFollowEndsWhenClientGone(t *testing.T) {
	path, _ := file87(t)
	err := follow(context.Background(), path, failingWriter{}, func() {})
	if err == nil || !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("Follow = %v, want the write error", err)
	}
}

// readRange and tail open the log at path and read it as the daemon's
// readers do.
func readRange(path string, offset, length int64) ([]byte, error) {
	l, err := OpenLog(path)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return l.ReadRange(offset, length)
}

func tail(path string, offset, length int64) ([]byte, int64, bool, error) {
	l, err := OpenLog(path)
	if err != nil {
		return nil, 0, false, err
	}
	defer l.Close()
	return l.Tail(offset, length)
}

func follow(ctx context.Context, path string, w io.Writer, flush func()) error {
	l, err := OpenLog(path)
	if err != nil {
		return err
	}
	return FollowLog(ctx, l, w, flush)
}
