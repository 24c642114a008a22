package logrot

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"gosupervisor/internal/safefs"
)

// FollowHead is how much of the existing file FollowLog sends first.
const FollowHead = 1024

// followInterval is how often FollowLog looks for growth, the reference's
// 0.1 s. Polling costs nothing while nobody follows a log.
const followInterval = 100 * time.Millisecond

// Truncated is what FollowLog writes when the file shrank under it.
const Truncated = "==> File truncated <==\n"

// FollowLog streams the log l (open with OpenLog; FollowLog closes it)
// as /logtail and /mainlogtail do: first the last
// FollowHead bytes (the whole file if smaller), then whatever is appended,
// calling flush after each write. When the path names a new file (rotation,
// clearProcessLogs) it finishes the old file, then continues with the new
// one from its start; when the file shrinks in place it writes Truncated
// and sends the file again from its start, as the reference does. Unlike the reference, bytes
// appended to the old file just before a rotation are not lost.
//
// A caller that looked at the file (its time, its size) streams that very
// file. FollowLog returns nil when ctx ends, or the error of a failed
// write to w (the client went away).
func FollowLog(ctx context.Context, l *Log, w io.Writer, flush func()) error {
	fl := &follower{path: l.path, w: w, flush: flush, f: l.f, buf: make([]byte, 32<<10)}
	defer func() { fl.f.Close() }()
	if err := fl.stat(); err != nil {
		return err
	}
	fl.pos = max(fl.size-FollowHead, 0)
	ticker := time.NewTicker(followInterval)
	defer ticker.Stop()
	for {
		if err := fl.poll(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

type follower struct {
	path  string
	w     io.Writer
	flush func()
	f     *os.File
	ino   uint64
	size  int64 // size at the last stat
	pos   int64 // next byte to send
	buf   []byte
}

// stat refreshes size and inode of the open file.
func (fl *follower) stat() error {
	st, err := fl.f.Stat()
	if err != nil {
		return fmt.Errorf("follow log %q: %w: %w", fl.path, ErrFailed, err)
	}
	fl.size = st.Size()
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		fl.ino = sys.Ino
	}
	return nil
}

// poll sends what is new, switching files when the path was replaced.
func (fl *follower) poll() error {
	if err := fl.sendGrowth(); err != nil {
		return err
	}
	// The path is looked at by the links rule too: another user's link
	// put in its place is neither followed nor stat'ed.
	st, err := safefs.Stat(fl.path)
	if err != nil {
		return nil // unlinked or refused: keep following the open file
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok || sys.Ino == fl.ino {
		return nil
	}
	nf, err := safefs.OpenFile(fl.path, os.O_RDONLY, 0)
	if err != nil {
		return nil // replaced again meanwhile; retry on the next tick
	}
	if err := fl.sendGrowth(); err != nil { // the old file's last bytes
		nf.Close()
		return err
	}
	fl.f.Close()
	fl.f, fl.pos = nf, 0
	return fl.sendGrowth()
}

// sendGrowth writes the bytes between pos and the current size.
func (fl *follower) sendGrowth() error {
	if err := fl.stat(); err != nil {
		return err
	}
	if fl.size < fl.pos {
		fl.pos = 0
		if _, err := io.WriteString(fl.w, Truncated); err != nil {
			return fmt.Errorf("follow log %q: %w", fl.path, err)
		}
		fl.flush()
	}
	for fl.pos < fl.size {
		n, err := fl.f.ReadAt(fl.buf[:min(int64(len(fl.buf)), fl.size-fl.pos)], fl.pos)
		if n > 0 {
			if _, werr := fl.w.Write(fl.buf[:n]); werr != nil {
				return fmt.Errorf("follow log %q: %w", fl.path, werr)
			}
			fl.flush()
			fl.pos += int64(n)
		}
		if err != nil {
			break // shrank meanwhile: the next poll reports the truncation
		}
	}
	return nil
}
