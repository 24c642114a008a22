package logrot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gosupervisor/internal/protocol"
)

// fixedClock is 2026-11-30 02:14:28.123456 UTC.
func fixedClock() time.Time { return time.Date(2026, 11, 30, 2, 14, 28, 123456789, time.UTC) }

func TestMainLogFormatAndLevels(t *testing.T) {
	all := []protocol.Level{protocol.LevelCritical, protocol.LevelError, protocol.LevelWarn, protocol.LevelInfo, protocol.LevelDebug, protocol.LevelTrace, protocol.LevelBlather}
	tests := []struct {
		level protocol.Level
		want  []string // level codes logged, in order
	}{
		{protocol.LevelCritical, []string{"CRIT"}},
		{protocol.LevelWarn, []string{"CRIT", "ERRO", "WARN"}},
		{protocol.LevelInfo, []string{"CRIT", "ERRO", "WARN", "INFO"}},
		{protocol.LevelDebug, []string{"CRIT", "ERRO", "WARN", "INFO", "DEBG"}},
		{protocol.LevelBlather, []string{"CRIT", "ERRO", "WARN", "INFO", "DEBG", "TRAC", "BLAT"}},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "supervisord.log")
			var stdout bytes.Buffer
			l, err := NewMainLog(MainLogOptions{Path: path, Level: tt.level, Stdout: &stdout, Now: fixedClock})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			for _, lv := range all {
				if got, want := l.Enabled(lv), lv >= tt.level; got != want {
					t.Errorf("Enabled(%v) = %v, want %v", lv, got, want)
				}
				l.Logf(lv, "msg %d", int(lv))
			}
			var want strings.Builder
			for _, code := range tt.want {
				lv := map[string]protocol.Level{"CRIT": 50, "ERRO": 40, "WARN": 30, "INFO": 20, "DEBG": 10, "TRAC": 5, "BLAT": 3}[code]
				fmt.Fprintf(&want, "2026-11-30 02:14:28,123 %s msg %d\n", code, int(lv))
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want.String() {
				t.Errorf("file:\n%s\nwant:\n%s", got, want.String())
			}
			if stdout.String() != want.String() {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), want.String())
			}
		})
	}
}

func TestMainLogMessages(t *testing.T) {
	tests := []struct {
		name   string
		format string
		args   []any
		want   string
	}{
		{"formatted", "spawned: '%s' with pid %d", []any{"x", 123}, "spawned: 'x' with pid 123"},
		{"no args keeps percent", "100%d done", nil, "100%d done"},
		{"multi-line as is", "line1\nline2", nil, "line1\nline2"},
		{"invalid utf-8 as is", "\xff\xfe", nil, "\xff\xfe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			l, err := NewMainLog(MainLogOptions{Level: protocol.LevelInfo, Stdout: &out, Now: fixedClock})
			if err != nil {
				t.Fatal(err)
			}
			l.Logf(protocol.LevelInfo, tt.format, tt.args...)
			if want := "2026-11-30 02:14:28,123 INFO " + tt.want + "\n"; out.String() != want {
				t.Errorf("got %q, want %q", out.String(), want)
			}
		})
	}
}

// TestMainLogMatchesReference formats the same messages through the
// reference's logger with its clock pinned, in UTC.
func TestMainLogMatchesReference(t *testing.T) {
	msgs := []struct {
		level protocol.Level
		msg   string
	}{
		{protocol.LevelCritical, "Supervisor is running as root."},
		{protocol.LevelInfo, "spawned: 'cat' with pid 4242"},
		{protocol.LevelWarn, "received SIGTERM indicating exit request"},
		{protocol.LevelDebug, "'x' stdout output:\nhello\n"},
		{protocol.LevelBlather, "blather"},
		{protocol.LevelTrace, "XML-RPC method called: supervisor.getPID()"},
		{protocol.LevelError, "tab\there"},
	}
	dir := t.TempDir()
	pyPath, goPath := filepath.Join(dir, "py.log"), filepath.Join(dir, "go.log")
	var script strings.Builder
	fmt.Fprintf(&script, `
import time
from supervisor import loggers
loggers.time.time = lambda: %d.123456
loggers.time.localtime = time.gmtime
logger = loggers.getLogger(loggers.LevelsByName.BLAT)
loggers.handle_file(logger, %q, '%%(asctime)s %%(levelname)s %%(message)s\n', rotating=True, maxbytes=1<<20, backups=2)
`, fixedClock().Unix(), pyPath)
	for _, m := range msgs {
		fmt.Fprintf(&script, "logger.log(%d, %q)\n", int(m.level), m.msg)
	}
	runPython(t, script.String())

	l, err := NewMainLog(MainLogOptions{Path: goPath, MaxBytes: 1 << 20, Backups: 2, Level: protocol.LevelBlather, Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		l.Logf(m.level, "%s", m.msg)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(pyPath)
	got, _ := os.ReadFile(goPath)
	if len(want) == 0 || string(got) != string(want) {
		t.Errorf("ours:\n%s\nreference:\n%s", got, want)
	}
}

func TestMainLogSyslogLines(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	var stdout bytes.Buffer
	l, err := NewMainLog(MainLogOptions{
		Syslog: true, Level: protocol.LevelInfo, Now: fixedClock, Stdout: &stdout,
		SyslogSend: func(line string) error { mu.Lock(); lines = append(lines, line); mu.Unlock(); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Logf(protocol.LevelWarn, "first\nsecond\n")
	l.Logf(protocol.LevelDebug, "filtered")
	want := []string{"2026-11-30 02:14:28,123 WARN first\n", "2026-11-30 02:14:28,123 WARN second\n"}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("syslog got %q, want %q", lines, want)
	}
	if got := stdout.String(); got != "2026-11-30 02:14:28,123 WARN first\nsecond\n\n" {
		t.Errorf("stdout copy %q", got)
	}
	if l.Path() != "" {
		t.Errorf("Path = %q", l.Path())
	}
	if err := l.Clear(); !errors.Is(err, ErrNoFile) {
		t.Errorf("Clear without a file = %v, want ErrNoFile", err)
	}
	if err := l.Reopen(); err != nil {
		t.Errorf("Reopen without a file = %v", err)
	}
}

func TestMainLogRotatesClearsReopens(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "supervisord.log")
	l, err := NewMainLog(MainLogOptions{Path: path, MaxBytes: 100, Backups: 1, Level: protocol.LevelInfo, Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 5 {
		l.Logf(protocol.LevelInfo, "message number %d", i) // 46 bytes a line
	}
	files := dirFiles(t, dir)
	line := func(i int) string { return fmt.Sprintf("2026-11-30 02:14:28,123 INFO message number %d\n", i) }
	want := map[string]string{
		"supervisord.log.1": line(0) + line(1) + line(2), // 138 bytes ≥ 100: rotated after line 2
		"supervisord.log":   line(3) + line(4),
	}
	if !equalMaps(files, want) {
		t.Errorf("files = %q, want %q", files, want)
	}
	if err := l.Clear(); err != nil {
		t.Fatal(err)
	}
	l.Logf(protocol.LevelInfo, "after clear")
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Logf(protocol.LevelInfo, "after reopen")
	files = dirFiles(t, dir)
	want = map[string]string{
		"supervisord.log.moved": "2026-11-30 02:14:28,123 INFO after clear\n",
		"supervisord.log":       "2026-11-30 02:14:28,123 INFO after reopen\n",
		"supervisord.log.1":     line(0) + line(1) + line(2),
	}
	if !equalMaps(files, want) {
		t.Errorf("files = %q, want %q", files, want)
	}
}

func TestMainLogCountsDroppedAndReportsOnce(t *testing.T) {
	var rec errorRecorder
	l, err := NewMainLog(MainLogOptions{Path: "/dev/full", Level: protocol.LevelInfo, Now: fixedClock, OnError: rec.record})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Logf(protocol.LevelInfo, "one")
	l.Logf(protocol.LevelInfo, "two")
	if got, want := l.Dropped(), int64(2*len("2026-11-30 02:14:28,123 INFO one\n")); got != want {
		t.Errorf("Dropped = %d, want %d", got, want)
	}
	if n := len(rec.list()); n != 1 {
		t.Errorf("%d reports, want 1", n)
	}
}

// Records logged at once from many goroutines land in the order of their
// stamps, as in the single-threaded reference.
func TestMainLogConcurrentRecordsInStampOrder(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "main.log")
	var mu sync.Mutex
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.Local)
	tick := func() time.Time { // every call a millisecond later
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Millisecond)
		return clock
	}
	l, err := NewMainLog(MainLogOptions{Path: path, Level: protocol.LevelInfo, Now: tick})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				l.Logf(protocol.LevelInfo, "goroutine %d record %d", g, i)
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 8*300 {
		t.Fatalf("%d lines, want %d", len(lines), 8*300)
	}
	for i := 1; i < len(lines); i++ {
		if lines[i][:23] <= lines[i-1][:23] {
			t.Fatalf("line %d %q is not stamped after line %d %q", i, lines[i], i-1, lines[i-1])
		}
	}
}

// TestMainLogLevelsMapOntoLogrus checks the one-to-one mapping that lets
// logrus filter: each level comes back as itself, and the order is kept.
func TestMainLogLevelsMapOntoLogrus(t *testing.T) {
	levels := []protocol.Level{protocol.LevelBlather, protocol.LevelTrace, protocol.LevelDebug, protocol.LevelInfo, protocol.LevelWarn, protocol.LevelError, protocol.LevelCritical}
	for i, lv := range levels {
		if got := fromLogrus(toLogrus(lv)); got != lv {
			t.Errorf("%v comes back as %v", lv, got)
		}
		if i > 0 && toLogrus(lv) >= toLogrus(levels[i-1]) {
			t.Errorf("%v maps to logrus %d, not less verbose than %v (%d)", lv, toLogrus(lv), levels[i-1], toLogrus(levels[i-1]))
		}
	}
	for _, tt := range []struct{ in, want protocol.Level }{{0, protocol.LevelBlather}, {4, protocol.LevelBlather}, {25, protocol.LevelInfo}, {99, protocol.LevelCritical}} {
		if got := fromLogrus(toLogrus(tt.in)); got != tt.want {
			t.Errorf("level %d counts as %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestMainLogJSON(t *testing.T) {
	var out bytes.Buffer
	l, err := NewMainLog(MainLogOptions{Level: protocol.LevelDebug, Format: FormatJSON, Stdout: &out, Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Logf(protocol.LevelInfo, "spawned: '%s' with pid %d", "web", 4242)
	l.Logf(protocol.LevelTrace, "filtered")
	l.LogFields(protocol.LevelWarn, Fields{"process": "web", "pid": 4242, "level": "clash", "tags": []string{"a<b"}}, "exited: web (exit status 1; not expected)")
	l.Logf(protocol.LevelCritical, "bytes \xff and\nlines \"quoted\" & <tagged>")
	l.LogFields(protocol.LevelDebug, Fields{"bad": func() {}}, "a value JSON cannot hold")
	want := `{"time":"2026-11-30T02:14:28.123Z","level":"info","message":"spawned: 'web' with pid 4242"}
{"time":"2026-11-30T02:14:28.123Z","level":"warn","message":"exited: web (exit status 1; not expected)","fields.level":"clash","pid":4242,"process":"web","tags":["a<b"]}
{"time":"2026-11-30T02:14:28.123Z","level":"critical","message":"bytes \ufffd and\nlines \"quoted\" & <tagged>"}
`
	got := out.String()
	if !strings.HasPrefix(got, want) {
		t.Errorf("got:\n%s\nwant first lines:\n%s", got, want)
	}
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), got)
	}
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not one JSON object: %q: %v", line, err)
		}
	}
	if !strings.Contains(lines[3], `"bad":"0x`) {
		t.Errorf("a function field should be written as its text: %q", lines[3])
	}
}

// The text format is the reference's line whatever fields a record has.
func TestMainLogTextIgnoresFields(t *testing.T) {
	var out bytes.Buffer
	l, err := NewMainLog(MainLogOptions{Level: protocol.LevelInfo, Stdout: &out, Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.LogFields(protocol.LevelInfo, Fields{"pid": 1}, "100% done")
	if want := "2026-11-30 02:14:28,123 INFO 100% done\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
