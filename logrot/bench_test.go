package logrot

import (
	"io"
	"path/filepath"
	"testing"

	"gosupervisor/internal/protocol"
)

// benchPump measures a child writing chunks of size bytes into a pipe
// drained by Pump into a rotating file (maxbytes 50 MB, 5 backups). Each
// op is one write by the child; -benchmem shows Pump's allocations
// amortized per op.
func benchPump(b *testing.B, size int, filter func([]byte) []byte) {
	dir := b.TempDir()
	w, err := Open(filepath.Join(dir, "x.log"), 50<<20, 5)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	r, pw, err := Pipe()
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Pump(r, w, filter) }()
	chunk := testStream(1, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := pw.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	pw.Close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if w.Dropped() != 0 {
		b.Fatalf("dropped %d bytes", w.Dropped())
	}
}

func BenchmarkPumpSplice64K(b *testing.B)    { benchPump(b, 64<<10, nil) }
func BenchmarkPumpCopy64K(b *testing.B)      { benchPump(b, 64<<10, func(c []byte) []byte { return c }) }
func BenchmarkPumpStripANSI64K(b *testing.B) { benchPump(b, 64<<10, StripANSI) }
func BenchmarkPumpChattySplice(b *testing.B) { benchPump(b, 100, nil) }
func BenchmarkPumpChattyCopy(b *testing.B)   { benchPump(b, 100, func(c []byte) []byte { return c }) }

// BenchmarkWriterWrite100 is the Writer alone with 100-byte writes.
func BenchmarkWriterWrite100(b *testing.B) {
	w, err := Open(filepath.Join(b.TempDir(), "x.log"), 50<<20, 5)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	line := testStream(2, 100)
	b.SetBytes(100)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Write(line); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStripANSI(b *testing.B) {
	src := []byte("\x1b[32m2026-11-30 INFO\x1b[0m request served in \x1b[1m12ms\x1b[0m path=/x\n")
	buf := make([]byte, len(src))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, src)
		StripANSI(buf)
	}
}

// benchMainLog measures one main-log line: formatted, filtered by level,
// stamped and written to a rotating file (maxbytes 50 MB, 10 backups), or
// only to io.Discard (the logger's own cost, without the write(2)).
func benchMainLog(b *testing.B, o MainLogOptions, toFile bool) {
	if toFile {
		o.Path = filepath.Join(b.TempDir(), "supervisord.log")
		o.MaxBytes, o.Backups = 50<<20, 10
	} else {
		o.Stdout = io.Discard
	}
	l, err := NewMainLog(o)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ReportAllocs()
	for b.Loop() {
		l.Logf(protocol.LevelInfo, "spawned: '%s' with pid %d", "web", 4242)
	}
}

func BenchmarkMainLogfFile(b *testing.B) {
	benchMainLog(b, MainLogOptions{Level: protocol.LevelInfo}, true)
}
func BenchmarkMainLogfDiscard(b *testing.B) {
	benchMainLog(b, MainLogOptions{Level: protocol.LevelInfo}, false)
}

// BenchmarkMainLogfFiltered is a line below the configured level.
func BenchmarkMainLogfFiltered(b *testing.B) {
	benchMainLog(b, MainLogOptions{Level: protocol.LevelWarn}, false)
}
