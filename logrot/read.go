package logrot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

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

// ReadRange reads part of a log as readLog / readProcessStdoutLog do:
//   - offset ≥ 0, length = 0: from offset to the end;
//   - offset ≥ 0, length > 0: at most length bytes from offset;
//   - offset < 0, length = 0: the last -offset bytes (the whole file if
//     shorter); supervisorctl's "tail" calls (-1600, 0);
//   - offset < 0 with length ≠ 0, or length < 0: ErrBadArguments.
//
// A missing file is ErrNoFile, other I/O errors wrap ErrFailed. An offset
// past the end yields no bytes.
func ReadRange(path string, offset, length int64) ([]byte, error) {
	if (offset < 0 && length != 0) || length < 0 {
		return nil, fmt.Errorf("read log %q (offset %d, length %d): %w", path, offset, length, ErrBadArguments)
	}
	f, size, err := openForRead(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	start, n := offset, length
	switch {
	case offset < 0:
		start, n = max(size+offset, 0), -offset
	case length == 0:
		n = size - offset
	}
	if start >= size || n <= 0 {
		return []byte{}, nil
	}
	n = min(n, size-start)
	return readAt(f, path, start, n)
}

// Tail reads the end of a log as tailProcessStdoutLog does. size is the
// current file size. When size > offset+length the reader fell behind:
// overflow is true and the last length bytes are returned; otherwise the
// bytes from offset on, at most length of them. next is always size, the
// offset to ask for next time. Example on an 87-byte file: Tail(0, 10) is
// the last 10 bytes, 87, true; Tail(0, 1000) is the whole file, 87, false.
//
// The reference's arithmetic is kept exactly, including its quirk that a
// request starting inside the last length bytes returns the last length
// bytes (Tail(80, 10) on 87 bytes returns bytes 77..86). A negative length
// returns nothing. A missing file is ErrNoFile (the RPC answer is then
// an empty string, 0, false); other errors wrap ErrFailed.
func Tail(path string, offset, length int64) (data []byte, next int64, overflow bool, err error) {
	f, size, err := openForRead(path)
	if err != nil {
		return nil, 0, false, err
	}
	defer f.Close()
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
	data, err = readAt(f, path, offset, length)
	if err != nil {
		return nil, 0, false, err
	}
	return data, size, overflow, nil
}

func openForRead(path string) (*os.File, int64, error) {
	f, err := safefs.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("read log %q: %w", path, ErrNoFile)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read log %q: %w: %w", path, ErrFailed, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("read log %q: %w: %w", path, ErrFailed, err)
	}
	return f, st.Size(), nil
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
