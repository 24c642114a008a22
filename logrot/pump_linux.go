package logrot

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// errSpliceUnsupported means this source/destination pair cannot splice
// (the source is not a pipe, the destination not a regular file, or its
// file system lacks splice support): copy instead. A pipe destination is
// excluded on purpose: SPLICE_F_NONBLOCK would make a full destination
// look like an empty source and spin.
var errSpliceUnsupported = errors.New("splice unsupported")

// errSpliceSlowPath means the destination failed or is missing: move the
// next chunk through Write, which counts, reports and retries.
var errSpliceSlowPath = errors.New("splice: destination unavailable")

// spliceLoop moves the pipe into w with splice(2) until EOF (eof=true), a
// read error, or until splicing turns out unsupported (eof=false, nil):
// then the caller continues with buffered copies from where it stopped.
func spliceLoop(r *chunkReader, w *Writer, pace *pacer, trail *Trail) (eof bool, err error) {
	var n int
	var serr error
	splice := func(fd uintptr) bool {
		n, serr = w.spliceFrom(int(fd), trail)
		return serr != unix.EAGAIN
	}
	for {
		if err := r.src.do(splice); err != nil {
			return true, fmt.Errorf("pump: %w", err)
		}
		switch {
		case serr == nil && n == 0:
			return true, nil
		case serr == nil:
			r.src.moved(n)
			pace.after(n)
		case serr == errSpliceUnsupported:
			return false, nil
		default:
			chunk, err := r.next()
			if err != nil || chunk == nil {
				return true, err
			}
			n := len(chunk)
			_, _ = w.write(chunk, trail) // counted and reported by w
			r.release()
			r.src.moved(n)
			pace.after(n)
		}
	}
}

// spliceMax is the most one splice moves when the file is far from
// maxbytes: a grown pipe's worth (Source.moved), so that a fast stream
// costs a syscall and a wake-up per 256 KiB rather than per 64 KiB.
const spliceMax = grownPipeSize

// spliceSize is how much to splice at file position end: as much as
// keeps the file within ChunkSize past maxBytes, as the reference's
// 128 KiB reads do, between ChunkSize and spliceMax.
func spliceSize(end, maxBytes int64) int {
	if maxBytes <= 0 {
		return spliceMax
	}
	return int(min(max(maxBytes+ChunkSize-end, ChunkSize), spliceMax))
}

// spliceFrom splices up to spliceSize bytes from the pipe srcFD to the end
// of the file, then rotates as Write does. It returns EAGAIN when the pipe is
// empty, (0, nil) at EOF, errSpliceUnsupported or errSpliceSlowPath.
// Where the bytes landed is noted in trail (when not nil).
func (w *Writer) spliceFrom(srcFD int, trail *Trail) (int, error) {
	w.mu.Lock()
	if w.closed || w.f == nil {
		w.mu.Unlock()
		return 0, errSpliceSlowPath
	}
	if !w.regular {
		w.mu.Unlock()
		return 0, errSpliceUnsupported
	}
	if report, err := w.checkRemovedLocked(); report != nil || err != nil {
		w.mu.Unlock()
		w.notify(report)
		return 0, errSpliceSlowPath // w.f may be gone; Write retries
	}
	end, err := unix.Seek(w.fd, 0, unix.SEEK_END)
	if err != nil {
		w.mu.Unlock()
		return 0, errSpliceSlowPath
	}
	var n int64
	size := spliceSize(end, w.maxBytes)
	for {
		n, err = unix.Splice(srcFD, nil, w.fd, nil, size, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		if err != unix.EINTR {
			break
		}
	}
	var report error
	switch {
	case err == unix.EAGAIN:
	case err == unix.EINVAL || err == unix.ENOSYS:
		err = errSpliceUnsupported
	case err != nil:
		err = errSpliceSlowPath
	case n > 0:
		w.failing = false
		trail.add(w.gen, end, n)
		report = w.afterWrite(end+n, nil)
	}
	w.mu.Unlock()
	w.notify(report)
	return int(n), err
}
