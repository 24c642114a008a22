package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestWritePatternMatchesFillPattern(t *testing.T) {
	for _, total := range []int64{0, 1, 1000, patternBlock - 1, patternBlock, patternBlock + 1, 3*patternBlock + 777} {
		t.Run(fmt.Sprint(total), func(t *testing.T) {
			var buf bytes.Buffer
			if err := writePattern(&buf, total); err != nil {
				t.Fatal(err)
			}
			want := make([]byte, total)
			fillPattern(want, 0)
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("writePattern differs from fillPattern (len %d vs %d)", buf.Len(), len(want))
			}
			for _, off := range []int64{0, 1, 63, 64, 65, patternBlock + 5, total / 2} {
				if off >= total {
					continue
				}
				part := make([]byte, total-off)
				fillPattern(part, off)
				if !bytes.Equal(part, want[off:]) {
					t.Errorf("fillPattern at offset %d is not the stream's suffix", off)
				}
			}
			if total == 0 {
				return
			}
			tail := patternTail(total)
			if !bytes.HasSuffix(want, tail) || bytes.Count(want, tail) != 1 {
				t.Errorf("patternTail (%d bytes) is not a unique suffix", len(tail))
			}
		})
	}
}

func TestPatternLines(t *testing.T) {
	buf := make([]byte, 2*recordSize)
	fillPattern(buf, 1234*patternBlock)
	want := "B000000000001234 " + strings.Repeat("x", recordSize-18) + "\n" +
		"0000000000000001 " + strings.Repeat("x", recordSize-18) + "\n"
	if string(buf) != want {
		t.Errorf("start of block 1234 = %q, want %q", buf, want)
	}
}

func TestCheckSuffix(t *testing.T) {
	const total = 10_000
	stream := make([]byte, total)
	fillPattern(stream, 0)
	corrupt := append([]byte(nil), stream[total-500:]...)
	corrupt[100] ^= 1
	tests := []struct {
		name    string
		kept    []byte
		wantErr string
	}{
		{name: "whole stream", kept: stream},
		{name: "suffix mid-record", kept: stream[total-777:]},
		{name: "empty", kept: nil},
		{name: "not the suffix", kept: stream[:500], wantErr: "differ from the stream at offset 9500"},
		{name: "one byte flipped", kept: corrupt, wantErr: "offset 9600"},
		{name: "longer than the stream", kept: append(stream, 'x'), wantErr: "bytes kept of a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkSuffix(bytes.NewReader(tt.kept), int64(len(tt.kept)), total)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}

// rotatingFile is the minimal size-based rotation Supervisor does (what
// bench/logreader.c does too): after a
// write leaves the file at maxBytes or more, base.N-1 moves to base.N, ...,
// base to base.1, and a fresh base is opened.
type rotatingFile struct {
	base     string
	maxBytes int64
	backups  int
	f        *os.File
	size     int64
}

func openRotating(base string, maxBytes int64, backups int) (*rotatingFile, error) {
	f, err := os.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return &rotatingFile{base: base, maxBytes: maxBytes, backups: backups, f: f}, nil
}

func (r *rotatingFile) Write(p []byte) (int, error) {
	n, err := r.f.Write(p)
	r.size += int64(n)
	if err != nil {
		return n, err
	}
	if r.maxBytes > 0 && r.size >= r.maxBytes {
		return n, r.rotate()
	}
	return n, nil
}

func (r *rotatingFile) rotate() error {
	if err := r.f.Close(); err != nil {
		return err
	}
	for i := r.backups - 1; i >= 1; i-- {
		err := os.Rename(fmt.Sprintf("%s.%d", r.base, i), fmt.Sprintf("%s.%d", r.base, i+1))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if r.backups > 0 {
		if err := os.Rename(r.base, r.base+".1"); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(r.base, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	r.f, r.size = f, 0
	return nil
}

func (r *rotatingFile) Close() error { return r.f.Close() }

// writeRotated writes the pattern stream through a rotatingFile in chunks
// of chunk bytes, as a daemon would, and returns the file list.
func writeRotated(t *testing.T, dir string, total, maxBytes int64, backups, chunk int) []string {
	t.Helper()
	base := filepath.Join(dir, "x.log")
	r, err := openRotating(base, maxBytes, backups)
	if err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	if err := writePattern(&stream, total); err != nil {
		t.Fatal(err)
	}
	for b := stream.Bytes(); len(b) > 0; {
		n := min(chunk, len(b))
		if _, err := r.Write(b[:n]); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return rotatedFiles(base, backups)
}

func TestCheckKept(t *testing.T) {
	const maxBytes = 10_000
	tests := []struct {
		name     string
		total    int64
		backups  int
		chunk    int
		damage   func(files []string) error
		wantKept int64
		wantErr  string
	}{
		{name: "no rotation yet", total: 5_000, backups: 5, chunk: 999, wantKept: 5_000},
		{name: "rotated, exact chunks", total: 100_000, backups: 5, chunk: 1000, wantKept: 50_000},
		{name: "rotated, chunks cross the limit", total: 100_000, backups: 3, chunk: 3000, wantKept: 3*12_000 + 4_000},
		{name: "a backup missing", total: 100_000, backups: 5, chunk: 1000,
			damage:  func(f []string) error { return os.Remove(f[0]) },
			wantErr: "want at least 50000"},
		{name: "a backup truncated", total: 100_000, backups: 5, chunk: 1000,
			damage:  func(f []string) error { return os.Truncate(f[2], 5) },
			wantErr: "x.log.3 has 5 bytes"},
		{name: "backups out of order", total: 100_000, backups: 5, chunk: 1000,
			damage: func(f []string) error {
				tmp := f[0] + ".tmp"
				return firstErr(os.Rename(f[0], tmp), os.Rename(f[1], f[0]), os.Rename(tmp, f[1]))
			},
			wantErr: "differ from the stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := writeRotated(t, t.TempDir(), tt.total, maxBytes, tt.backups, tt.chunk)
			if tt.damage != nil {
				if err := tt.damage(files); err != nil {
					t.Fatal(err)
				}
			}
			kept, err := checkKept(files, tt.total, maxBytes)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if kept != tt.wantKept {
					t.Errorf("kept %d, want %d", kept, tt.wantKept)
				}
				tail, err := readTail(files, recordSize+10)
				if err != nil {
					t.Fatal(err)
				}
				want := make([]byte, recordSize+10)
				fillPattern(want, tt.total-int64(len(want)))
				if !bytes.Equal(tail, want) {
					t.Errorf("readTail = %q, want %q", tail, want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func TestReadTailAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	files := []string{filepath.Join(dir, "a.2"), filepath.Join(dir, "a.1"), filepath.Join(dir, "a")}
	for i, content := range []string{"0123456789", "abc", ""} {
		if err := os.WriteFile(files[i], []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		n    int
		want string
	}{{1, "c"}, {3, "abc"}, {5, "89abc"}, {20, "0123456789abc"}}
	for _, tt := range tests {
		got, err := readTail(files, tt.n)
		if err != nil || string(got) != tt.want {
			t.Errorf("readTail(%d) = %q, %v; want %q", tt.n, got, err, tt.want)
		}
	}
	got, err := readTail([]string{filepath.Join(dir, "missing")}, 4)
	if err != nil || len(got) != 0 {
		t.Errorf("readTail of a missing file = %q, %v; want empty", got, err)
	}
}

func TestLogCounterIncremental(t *testing.T) {
	path := filepath.Join(t.TempDir(), "main.log")
	lc := &logCounter{path: path, marker: []byte(runningMarker)}
	steps := []struct {
		appendText string
		want       int
	}{
		{"", 0}, // file missing
		{"2026 INFO success: a entered RUNNING state, process has\n", 1},
		{"2026 INFO success: b entered RUN", 1}, // partial line
		{"NING state, process has\n2026 INFO spawned: 'c'\n", 2},
		{"x entered RUNNING state\ny entered RUNNING state\n", 4},
	}
	for i, st := range steps {
		if i > 0 {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(st.appendText)
			f.Close()
		}
		got, err := lc.update()
		if err != nil || got != st.want {
			t.Fatalf("step %d: update = %d, %v; want %d", i, got, err, st.want)
		}
	}
}

func TestHelperWriteAndChatty(t *testing.T) {
	var out, errs bytes.Buffer
	if code := HelperMain([]string{"write", "-bytes", "100000"}, &out, &errs); code != 0 {
		t.Fatalf("write exit %d: %s", code, errs.String())
	}
	want := make([]byte, 100000)
	fillPattern(want, 0)
	if !bytes.Equal(out.Bytes(), want) {
		t.Error("helper write output is not the pattern stream")
	}

	out.Reset()
	countFile := filepath.Join(t.TempDir(), "count")
	args := []string{"chatty", "-name", "c07", "-every", "2ms", "-size", "100", "-for", "100ms", "-count-file", countFile}
	if code := HelperMain(args, &out, &errs); code != 0 {
		t.Fatalf("chatty exit %d: %s", code, errs.String())
	}
	b, err := os.ReadFile(countFile)
	if err != nil {
		t.Fatal(err)
	}
	said, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(out.String(), "\n")
	lines = lines[:len(lines)-1] // after the last newline
	if said != 50 || len(lines) != said {
		t.Fatalf("chatty wrote %d lines and said %d; want 50 (100ms / 2ms)", len(lines), said)
	}
	for i, l := range lines {
		if len(l) != 100 || !strings.HasPrefix(l, fmt.Sprintf("c07 %09d ", i)) {
			t.Fatalf("line %d = %q", i, l)
		}
	}

	for _, bad := range [][]string{nil, {"nope"}, {"write", "-bytes", "x"}, {"chatty", "-size", "5"}} {
		if code := HelperMain(bad, &out, &errs); code == 0 {
			t.Errorf("HelperMain(%q) succeeded", bad)
		}
	}
}
