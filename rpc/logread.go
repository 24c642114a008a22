package rpc

import (
	"errors"
	"io"
	"os"
)

// errBadArguments and errReadFailed are what readRange reports; the
// dispatcher maps them to BAD_ARGUMENTS and FAILED.
var (
	errBadArguments = errors.New("bad offset/length combination")
	errReadFailed   = errors.New("read failed")
)

// readRange reads a log file with readLog's rules: offset >= 0 and
// length 0 reads to the end; offset >= 0 and length > 0 reads that slice;
// offset < 0 reads the last -offset bytes and needs length 0; a negative
// length is refused.
func readRange(path string, offset, length int64) ([]byte, error) {
	if (offset < 0 && length != 0) || (offset >= 0 && length < 0) {
		return nil, errBadArguments
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, errReadFailed
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, errReadFailed
	}
	size := fi.Size()
	start, n := offset, length
	switch {
	case offset < 0:
		start = max(size+offset, 0)
		n = -offset
	case length == 0:
		n = size - offset
	}
	if start >= size || n <= 0 {
		return []byte{}, nil
	}
	n = min(n, size-start)
	buf := make([]byte, n)
	got, err := f.ReadAt(buf, start)
	if err != nil && err != io.EOF {
		return nil, errReadFailed
	}
	return buf[:got], nil
}

// tailResult is what tailProcess*Log returns: the bytes, the offset of
// the next read (the file size) and whether bytes were skipped.
type tailResult struct {
	data     []byte
	offset   int64
	overflow bool
}

// tailRange follows the reference's tailFile arithmetic exactly: when
// the file has grown past offset+length, the last length bytes are
// returned with overflow set; the returned offset is always the size.
// A file that cannot be read gives no bytes, the offset as passed and no
// overflow.
func tailRange(path string, offset, length int64) tailResult {
	f, err := os.Open(path)
	if err != nil {
		return tailResult{data: []byte{}, offset: offset}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return tailResult{data: []byte{}, offset: offset}
	}
	size := fi.Size()
	overflow := false
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
	offset = max(offset, 0)
	length = max(length, 0)
	data := []byte{}
	if length > 0 {
		data = make([]byte, length)
		n, err := f.ReadAt(data, offset)
		if err != nil && err != io.EOF {
			return tailResult{data: []byte{}, offset: offset}
		}
		data = data[:n]
	}
	return tailResult{data: data, offset: size, overflow: overflow}
}
