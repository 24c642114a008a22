package logrot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"gosupervisor/internal/safefs"
)

// Errors of the read side, mapped by the RPC layer to Supervisor's faults.
var (
	// ErrNoFile: the log file does not exist (NO_FILE).
	ErrNoFile = errors.New("no such log file")
	// ErrBadArguments: an offset/length combination readLog refuses
	// (BAD_ARGUMENTS).
	ErrBadArguments = errors.New("bad offset or length")
	// ErrFailed: the file exists but could not be read (FAILED).
	ErrFailed = errors.New("log file unreadable")
)

// Log is a log file opened for reading. Its size and modification time
// are those of the open file (fstat), so what a reader learns is about
// the file it reads, never about whatever a path names later: a log in a
// directory other users can write may be replaced by a link at any time.
type Log struct {
	f     *os.File
	path  string
	size  int64
	mtime time.Time
}

// OpenLog opens the log at path for reading, following symbolic links by
// internal/safefs's rule. A missing file is ErrNoFile; any other failure,
// a refused link included, wraps ErrFailed and says nothing of what the
// link names.
func OpenLog(path string) (*Log, error) {
	f, err := safefs.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read log %q: %w", path, ErrNoFile)
	}
	if err != nil {
		return nil, fmt.Errorf("read log %q: %w: %w", path, ErrFailed, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read log %q: %w: %w", path, ErrFailed, err)
	}
	return &Log{f: f, path: path, size: st.Size(), mtime: st.ModTime()}, nil
}

// Size is the file's size when it was opened.
func (l *Log) Size() int64 { return l.size }

// ModTime is the file's modification time when it was opened.
func (l *Log) ModTime() time.Time { return l.mtime }

// Close closes the file.
func (l *Log) Close() error { return l.f.Close() }

// RangeSize is how many bytes ReadRange(offset, length) reads from this
// file (0 for arguments it refuses).
func (l *Log) RangeSize(offset, length int64) int64 {
	start, end := l.span(offset, length)
	return end - start
}

// span is the part of the file ReadRange reads: [start, end).
func (l *Log) span(offset, length int64) (start, end int64) {
	if (offset < 0 && length != 0) || length < 0 {
		return 0, 0
	}
	size := l.size
	n := length
	start = offset
	switch {
	case offset < 0:
		start, n = max(size+offset, 0), -offset
	case length == 0:
		n = size - offset
	}
	if start >= size || n <= 0 {
		return 0, 0
	}
	return start, start + min(n, size-start)
}

// ReadRange reads part of the log, as it was at the open, as readLog /
// readProcessStdoutLog do:
//   - offset ≥ 0, length = 0: from offset to the end;
//   - offset ≥ 0, length > 0: at most length bytes from offset;
//   - offset < 0, length = 0: the last -offset bytes (the whole file if
//     shorter); supervisorctl's "tail" calls (-1600, 0);
//   - offset < 0 with length ≠ 0, or length < 0: ErrBadArguments.
//
// I/O errors wrap ErrFailed. An offset past the end yields no bytes.
func (l *Log) ReadRange(offset, length int64) ([]byte, error) {
	if (offset < 0 && length != 0) || length < 0 {
		return nil, fmt.Errorf("read log %q (offset %d, length %d): %w", l.path, offset, length, ErrBadArguments)
	}
	start, end := l.span(offset, length)
	if end <= start {
		return []byte{}, nil
	}
	return readAt(l.f, l.path, start, end-start)
}

// Tail reads the end of the log as tailProcessStdoutLog does. size is the
// file's size at the open. When size > offset+length the reader fell behind:
// overflow is true and the last length bytes are returned; otherwise the
// bytes from offset on, at most length of them. next is always size, the
// offset to ask for next time. Example on an 87-byte file: Tail(0, 10) is
// the last 10 bytes, 87, true; Tail(0, 1000) is the whole file, 87, false.
//
// The reference's arithmetic is kept exactly, including its quirk that a
// request starting inside the last length bytes returns the last length
// bytes (Tail(80, 10) on 87 bytes returns bytes 77..86). A negative length
// returns nothing. I/O errors wrap ErrFailed.
func (l *Log) Tail(offset, length int64) (data []byte, next int64, overflow bool, err error) {
	size := l.size
	if size > offset+length {
		overflow = true
		offset = size - 1
	}
	if offset+length > size {
		if offset > size-1 {
			length = 0
		}
		offset = size - length
	}
	offset, length = max(offset, 0), max(length, 0)
	length = min(length, size-offset)
	if length <= 0 {
		return []byte{}, size, overflow, nil
	}
	data, err = readAt(l.f, l.path, offset, length)
	if err != nil {
		return nil, 0, false, err
	}
	return data, size, overflow, nil
}

// readAt reads up to n bytes at off; a file that shrank meanwhile yields
// fewer.
func readAt(f *os.File, path string, off, n int64) ([]byte, error) {
	buf := make([]byte, n)
	got, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read log %q: %w: %w", path, ErrFailed, err)
	}
	return buf[:got], nil
}
