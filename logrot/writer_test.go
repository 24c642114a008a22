package logrot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// dirFiles returns name → content of every file in dir.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

func mustOpen(t *testing.T, path string, maxBytes int64, backups int, opts ...Option) *Writer {
	t.Helper()
	w, err := Open(path, maxBytes, backups, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func mustWrite(t *testing.T, w *Writer, s string) {
	t.Helper()
	n, err := w.Write([]byte(s))
	if err != nil || n != len(s) {
		t.Fatalf("Write(%q) = %d, %v", s, n, err)
	}
}

func TestWriterRotationRules(t *testing.T) {
	tests := []struct {
		name     string
		maxBytes int64
		backups  int
		existing map[string]string // files present before Open
		writes   []string
		want     map[string]string
	}{
		{
			name: "maxbytes 0 never rotates", maxBytes: 0, backups: 3,
			writes: []string{"aaaa", "bbbb", "cccc"},
			want:   map[string]string{"x.log": "aaaabbbbcccc"},
		},
		{
			name: "below maxbytes stays", maxBytes: 10, backups: 3,
			writes: []string{"aaaa", "bbbbb"},
			want:   map[string]string{"x.log": "aaaabbbbb"},
		},
		{
			name: "rotation when position reaches maxbytes exactly", maxBytes: 8, backups: 3,
			writes: []string{"aaaa", "bbbb", "c"},
			want:   map[string]string{"x.log": "c", "x.log.1": "aaaabbbb"},
		},
		{
			name: "a chunk is written whole past maxbytes", maxBytes: 4, backups: 3,
			writes: []string{"ab", "cdefghijkl", "m"},
			want:   map[string]string{"x.log": "m", "x.log.1": "abcdefghijkl"},
		},
		{
			name: "backups shift and the oldest falls off", maxBytes: 2, backups: 2,
			writes: []string{"11", "22", "33", "44", "5"},
			want:   map[string]string{"x.log": "5", "x.log.1": "44", "x.log.2": "33"},
		},
		{
			name: "backups 0 truncates and keeps no .1", maxBytes: 3, backups: 0,
			writes: []string{"aaa", "bb", "cc", "d"},
			want:   map[string]string{"x.log": "d"},
		},
		{
			name: "appends to an existing file and counts its size", maxBytes: 6, backups: 1,
			existing: map[string]string{"x.log": "old"},
			writes:   []string{"new", "z"},
			want:     map[string]string{"x.log": "z", "x.log.1": "oldnew"},
		},
		{
			name: "existing backups beyond N are left alone", maxBytes: 1, backups: 1,
			existing: map[string]string{"x.log.1": "b1", "x.log.2": "b2", "x.log.5": "b5"},
			writes:   []string{"a"},
			want:     map[string]string{"x.log": "", "x.log.1": "a", "x.log.2": "b2", "x.log.5": "b5"},
		},
		{
			name: "a gap in the backups is tolerated", maxBytes: 1, backups: 3,
			existing: map[string]string{"x.log.2": "b2"},
			writes:   []string{"a"},
			want:     map[string]string{"x.log": "", "x.log.1": "a", "x.log.3": "b2"},
		},
		{
			name: "invalid UTF-8 and no newline are logged as is", maxBytes: 0, backups: 0,
			writes: []string{"\xff\xfe\x00", "no newline", "\xe2\x82"},
			want:   map[string]string{"x.log": "\xff\xfe\x00no newline\xe2\x82"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, content := range tt.existing {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			w := mustOpen(t, filepath.Join(dir, "x.log"), tt.maxBytes, tt.backups)
			for _, s := range tt.writes {
				mustWrite(t, w, s)
			}
			if got := dirFiles(t, dir); !equalMaps(got, tt.want) {
				t.Errorf("files = %q, want %q", got, tt.want)
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func TestWriterPermissions(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	tests := []struct {
		name string
		opts []Option
		want fs.FileMode
	}{
		{"default is 0666 minus umask", nil, 0o644},
		{"WithPerm 0600 for AUTO logs", []Option{WithPerm(0o600)}, 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "x.log")
			w := mustOpen(t, path, 4, 1, tt.opts...)
			check := func(what, p string) {
				t.Helper()
				st, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != tt.want {
					t.Errorf("%s: mode %v, want %v", what, st.Mode().Perm(), tt.want)
				}
			}
			check("created", path)
			mustWrite(t, w, "12345")
			check("after rotation", path)
			check("backup", path+".1")
			if err := w.Clear(); err != nil {
				t.Fatal(err)
			}
			check("after clear", path)
		})
	}
}

func TestWriterClearKeepsBackups(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, filepath.Join(dir, "x.log"), 4, 2)
	mustWrite(t, w, "aaaa")
	mustWrite(t, w, "bb")
	if err := w.Clear(); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "c")
	want := map[string]string{"x.log": "c", "x.log.1": "aaaa"}
	if got := dirFiles(t, dir); !equalMaps(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
}

func TestWriterReopenAfterExternalRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	w := mustOpen(t, path, 0, 0)
	mustWrite(t, w, "before\n")
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "still old\n") // the open file was moved: bytes follow it
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "after\n")
	want := map[string]string{"x.log.moved": "before\nstill old\n", "x.log": "after\n"}
	if got := dirFiles(t, dir); !equalMaps(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
}

func TestWriterCopyTruncateWritesAtNewEnd(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	w := mustOpen(t, path, 10, 1)
	mustWrite(t, w, "12345678")
	if err := os.Truncate(path, 0); err != nil { // logrotate copytruncate
		t.Fatal(err)
	}
	mustWrite(t, w, "ab") // lands at 0, no hole, position 2 < 10: no rotation
	want := map[string]string{"x.log": "ab"}
	if got := dirFiles(t, dir); !equalMaps(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
}

func TestWriterClosed(t *testing.T) {
	w := mustOpen(t, filepath.Join(t.TempDir(), "x.log"), 0, 0)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if _, err := w.Write([]byte("abc")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if got := w.Dropped(); got != 3 {
		t.Errorf("Dropped = %d, want 3", got)
	}
	for name, f := range map[string]func() error{"Reopen": w.Reopen, "Clear": w.Clear} {
		if err := f(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func TestOpenFailsWithoutDirectory(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing", "x.log"), 0, 0)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open in a missing directory = %v, want ErrNotExist", err)
	}
}

// errorRecorder collects OnError reports.
type errorRecorder struct {
	mu   sync.Mutex
	errs []error
}

func (r *errorRecorder) record(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *errorRecorder) list() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func TestWriterRecreatesVanishedDirectory(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "logs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var rec errorRecorder
	w := mustOpen(t, filepath.Join(dir, "x.log"), 10, 2, WithOnError(rec.record), WithClock(frozenClock))
	mustWrite(t, w, "0123456789") // rotates: x.log.1
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	// The open base file is unlinked; the next rotation finds the directory
	// gone, recreates it and keeps every later byte.
	var stream strings.Builder
	for i := range 20 {
		s := fmt.Sprintf("line %02d\n", i)
		stream.WriteString(s)
		mustWrite(t, w, s)
	}
	errs := rec.list()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "recreated") {
		t.Fatalf("OnError reports = %v, want exactly one about the recreated directory", errs)
	}
	if w.Dropped() != 0 {
		t.Errorf("Dropped = %d, want 0", w.Dropped())
	}
	// Everything after the first line (written to the unlinked file) is in
	// the recreated directory, in order.
	files := dirFiles(t, dir)
	got := files["x.log.2"] + files["x.log.1"] + files["x.log"]
	if want := strings.TrimPrefix(stream.String(), "line 00\nline 01\n"); !strings.HasSuffix(want, got) || len(got) < 10 {
		t.Errorf("recreated logs hold %q, want a tail of %q", got, want)
	}
}

func TestWriterReopenRecreatesDirectory(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var rec errorRecorder
	w := mustOpen(t, filepath.Join(dir, "x.log"), 0, 0, WithOnError(rec.record), WithClock(frozenClock))
	if err := os.RemoveAll(filepath.Join(root, "a")); err != nil {
		t.Fatal(err)
	}
	if err := w.Reopen(); err != nil {
		t.Fatalf("Reopen = %v", err)
	}
	mustWrite(t, w, "kept\n")
	if got := dirFiles(t, dir); got["x.log"] != "kept\n" {
		t.Errorf("files = %q", got)
	}
	if n := len(rec.list()); n != 1 {
		t.Errorf("%d reports, want 1", n)
	}
}

func TestWriterFailingWritesCountedAndReportedOnce(t *testing.T) {
	var rec errorRecorder
	// /dev/full fails every write with ENOSPC: a full disk.
	w := mustOpen(t, "/dev/full", 0, 0, WithOnError(rec.record))
	total := 0
	for i := range 50 {
		s := strings.Repeat("x", i+1)
		total += len(s)
		if _, err := w.Write([]byte(s)); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Write = %v, want ENOSPC", err)
		}
	}
	if got := w.Dropped(); got != int64(total) {
		t.Errorf("Dropped = %d, want %d", got, total)
	}
	if errs := rec.list(); len(errs) != 1 || !errors.Is(errs[0], syscall.ENOSPC) {
		t.Errorf("reports = %v, want one ENOSPC", errs)
	}
}

func TestWriterUnopenableFileRetriesAndReportsOnce(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "logs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var rec errorRecorder
	w := mustOpen(t, filepath.Join(dir, "x.log"), 4, 1, WithOnError(rec.record), WithClock(frozenClock))
	// Replace the directory by a plain file: it cannot be recreated.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "abcd") // written to the unlinked file, then rotation fails
	for range 5 {
		if _, err := w.Write([]byte("lost")); err == nil {
			t.Fatal("Write succeeded with no directory")
		}
	}
	if got := w.Dropped(); got != 20 {
		t.Errorf("Dropped = %d, want 20", got)
	}
	// The directory comes back: the next write reopens and succeeds.
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "ok")
	if got := dirFiles(t, dir); got["x.log"] != "ok" {
		t.Errorf("files = %q", got)
	}
	if errs := rec.list(); len(errs) != 2 { // the failure, then the recreated directory
		t.Errorf("reports = %v, want 2", errs)
	}
}

// TestWriterConcurrentLossless writes numbered records from several
// goroutines while another reopens and clears nothing; the rotated files
// concatenated in order hold every record once, whole, in each writer's
// order, and every rotated file reached maxbytes without exceeding it by
// more than one record.
func TestWriterConcurrentLossless(t *testing.T) {
	const (
		writers  = 6
		records  = 300
		maxBytes = 2000
		backups  = 400
	)
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	w := mustOpen(t, path, maxBytes, backups)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var reopens sync.WaitGroup
	reopens.Add(1)
	go func() {
		defer reopens.Done()
		for {
			select {
			case <-stop:
				return
			default:
				if err := w.Reopen(); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range records {
				rec := fmt.Sprintf("g%d-%04d-%s\n", g, i, strings.Repeat("p", (g*i)%37))
				if _, err := w.Write([]byte(rec)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	reopens.Wait()

	var all strings.Builder
	for i := backups; i >= 1; i-- {
		b, err := os.ReadFile(fmt.Sprintf("%s.%d", path, i))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < maxBytes || len(b) >= maxBytes+64 {
			t.Errorf("%s.%d has %d bytes, want within one record past %d", path, i, len(b), maxBytes)
		}
		all.Write(b)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	all.Write(b)
	lines := strings.Split(strings.TrimSuffix(all.String(), "\n"), "\n")
	if len(lines) != writers*records {
		t.Fatalf("%d records, want %d", len(lines), writers*records)
	}
	next := make([]int, writers)
	for _, l := range lines {
		var g, i int
		if _, err := fmt.Sscanf(l, "g%d-%04d-", &g, &i); err != nil {
			t.Fatalf("torn record %q: %v", l, err)
		}
		if want := fmt.Sprintf("g%d-%04d-%s", g, i, strings.Repeat("p", (g*i)%37)); l != want {
			t.Fatalf("record %q, want %q", l, want)
		}
		if i != next[g] {
			t.Fatalf("writer %d: record %d, want %d", g, i, next[g])
		}
		next[g]++
	}
}

func TestWriterNonRegularFileNeverRotates(t *testing.T) {
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer pw.Close()
	path := fmt.Sprintf("/proc/self/fd/%d", pw.Fd())
	w := mustOpen(t, path, 1, 3)
	mustWrite(t, w, "abc")
	mustWrite(t, w, "def")
	buf := make([]byte, 6)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != "abcdef" {
		t.Errorf("pipe got %q", buf)
	}
	if _, err := os.Stat(path + ".1"); err == nil {
		t.Error("a pipe was rotated")
	}
}

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestWriterNoticesRemovedFile(t *testing.T) {
	tests := []struct {
		name       string
		remove     func(dir, path string) error
		wantReport string
	}{
		{"file removed", func(_, path string) error { return os.Remove(path) }, "was removed"},
		{"directory removed", func(dir, _ string) error { return os.RemoveAll(dir) }, "vanished"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "logs")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "x.log")
			clock := &fakeClock{now: time.Unix(1000, 0)}
			var rec errorRecorder
			w := mustOpen(t, path, 0, 0, WithClock(clock.Now), WithOnError(rec.record))
			mustWrite(t, w, "before\n")
			if err := tt.remove(dir, path); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, w, "into the void\n") // within the check interval
			clock.Advance(removedCheckInterval)
			mustWrite(t, w, "kept 1\n")
			clock.Advance(removedCheckInterval)
			mustWrite(t, w, "kept 2\n")
			if got := dirFiles(t, dir); got["x.log"] != "kept 1\nkept 2\n" {
				t.Errorf("files = %q", got)
			}
			errs := rec.list()
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.wantReport) {
				t.Errorf("reports = %v, want one containing %q", errs, tt.wantReport)
			}
		})
	}
}

func TestPumpNoticesRemovedDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "x.log")
	clock := &fakeClock{now: time.Unix(1000, 0)}
	var rec errorRecorder
	w := mustOpen(t, path, 0, 0, WithClock(clock.Now), WithOnError(rec.record))
	pw, done := startPump(t, w, nil)
	if _, err := pw.Write([]byte("first\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { b, _ := os.ReadFile(path); return len(b) == 6 })
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	clock.Advance(removedCheckInterval)
	if _, err := pw.Write([]byte("kept\n")); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	waitPump(t, done)
	if got := dirFiles(t, dir); got["x.log"] != "kept\n" {
		t.Errorf("files = %q", got)
	}
	if n := len(rec.list()); n != 1 {
		t.Errorf("%d reports, want 1", n)
	}
}

// frozenClock never advances, so the removed-file check never runs and a
// test sees only what rotation and Reopen do.
func frozenClock() time.Time { return time.Unix(1000, 0) }

func TestWriterRotationFailureKeepsBytes(t *testing.T) {
	tests := []struct {
		name    string
		blocker string // a non-empty directory with this name makes a rename fail
		backups int
		want    map[string]string
	}{
		{"base cannot become .1", "x.log.1", 1, map[string]string{"x.log": "", "x.log.1": "abcdefg"}},
		{".1 cannot become .2", "x.log.2", 2, map[string]string{"x.log": "", "x.log.1": "abcdefg", "x.log.2": "old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "x.log")
			blocker := filepath.Join(dir, tt.blocker)
			if err := os.MkdirAll(filepath.Join(blocker, "blocker"), 0o755); err != nil {
				t.Fatal(err)
			}
			if tt.blocker == "x.log.2" {
				if err := os.WriteFile(path+".1", []byte("old"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var rec errorRecorder
			w := mustOpen(t, path, 4, tt.backups, WithOnError(rec.record), WithClock(frozenClock))
			mustWrite(t, w, "abcd")
			mustWrite(t, w, "ef")
			if got, _ := os.ReadFile(path); string(got) != "abcdef" {
				t.Errorf("base = %q, want every byte kept", got)
			}
			if n := len(rec.list()); n != 1 {
				t.Errorf("%d reports, want 1 for the failing rotation", n)
			}
			if err := os.RemoveAll(blocker); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, w, "g")
			if got := dirFiles(t, dir); !equalMaps(got, tt.want) {
				t.Errorf("files = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWriterReopenFailureIsReturnedNotReported(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "logs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var rec errorRecorder
	w := mustOpen(t, filepath.Join(dir, "x.log"), 0, 0, WithOnError(rec.record), WithClock(frozenClock))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil { // the directory cannot come back
		t.Fatal(err)
	}
	for name, op := range map[string]func() error{"Reopen": w.Reopen, "Clear": w.Clear} {
		if err := op(); err == nil {
			t.Errorf("%s succeeded without a directory", name)
		}
	}
	if _, err := w.Write([]byte("lost")); err == nil {
		t.Error("Write succeeded without a directory")
	}
	if errs := rec.list(); len(errs) != 0 {
		t.Errorf("reports = %v, want none: the callers got the errors", errs)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "back")
	if got := dirFiles(t, dir); got["x.log"] != "back" {
		t.Errorf("files = %q", got)
	}
	if w.Dropped() != 4 {
		t.Errorf("Dropped = %d, want 4", w.Dropped())
	}
}

// watchName checks over and over that path exists, until stop is called;
// stop returns the first failure.
func watchName(path string) (stop func() error) {
	done := make(chan struct{})
	missing := make(chan error, 1)
	go func() {
		defer close(missing)
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := os.Lstat(path); err != nil {
				missing <- err
				return
			}
		}
	}()
	return func() error {
		close(done)
		return <-missing
	}
}

// TestClearNeverHidesTheBase: clearLog and clearProcessLogs give the base
// name a new empty file without a moment where the name is missing (the
// reference removes, then reopens: a reader between gets NO_FILE, and
// another user who can write the directory can take the name).
func TestClearNeverHidesTheBase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	w, err := Open(path, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	stop := watchName(path)
	for i := range 500 {
		mustWrite(t, w, fmt.Sprintf("record %d\n", i))
		if err := w.Clear(); err != nil {
			t.Fatal(err)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("base file missing during clear: %v", err)
	}
	mustWrite(t, w, "last\n")
	if got := dirFiles(t, filepath.Dir(path)); len(got) != 1 || got["x.log"] != "last\n" {
		t.Errorf("after clears: %q, want only x.log holding the last record", got)
	}
}

// TestRotationNeverHidesTheBase: a reader (readProcessStdoutLog, /logtail)
// must always find the base file, even in the middle of a rotation.
func TestRotationNeverHidesTheBase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	w, err := Open(path, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	stop := watchName(path)
	for i := range 2000 {
		if _, err := fmt.Fprintf(w, "record %06d\n", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("base file missing during rotation: %v", err)
	}
	for _, name := range []string{path, path + ".1", path + ".2", path + ".3"} {
		if _, err := os.Stat(name); err != nil {
			t.Errorf("after rotations: %v", err)
		}
	}
	if got, _ := filepath.Glob(path + ".tmp.*"); len(got) != 0 {
		t.Errorf("temporary files left behind: %v", got)
	}
}
