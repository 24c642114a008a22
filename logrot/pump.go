package logrot

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Pump copies a child's output pipe to w until EOF, then closes src.
//
// With a nil filter and a regular file the bytes move pipe→file with
// splice(2), never entering user space; otherwise (a filter, or w writing
// to a pipe or tty such as /dev/stdout) each chunk (at most ChunkSize bytes, one read) is
// passed to filter and what it returns is written. The chunk is only valid
// during the call; filter may modify it in place (StripANSI does) and must
// copy whatever it keeps. w may be nil (stdout_logfile=NONE): the pipe is
// still drained, and filter still sees every chunk.
//
// Rotation is checked after every chunk, as the reference does after every
// read, so a rotated file ends at most ChunkSize bytes past maxbytes. Write
// failures never stop the pump: w counts and reports them (Dropped,
// WithOnError) and the pipe keeps being drained, so the child never blocks
// on a full pipe because its log is broken.
//
// Pump blocks its goroutine, parked on the runtime netpoller (src must come
// from os.Pipe or be otherwise non-blocking to be pollable; Fd is never
// called). It returns nil at EOF. To abandon a pipe a grandchild still
// holds open, close src (Pump then returns an error matching os.ErrClosed)
// or set a read deadline on it (os.ErrDeadlineExceeded once the deadline
// has passed; whatever is still in the pipe then stays unread).
func Pump(src *os.File, w *Writer, filter func(chunk []byte) []byte, opts ...PumpOption) error {
	defer src.Close()
	cfg := pumpConfig{coalesce: DefaultCoalesce}
	for _, o := range opts {
		o(&cfg)
	}
	rc, err := src.SyscallConn()
	if err != nil {
		return fmt.Errorf("pump: %w", err)
	}
	pool := &chunkPool{}
	if w != nil {
		pool = &w.chunks
	}
	r := newChunkReader(src, rc, pool)
	if w != nil && filter == nil {
		eof, err := spliceLoop(r, w, cfg)
		if eof || err != nil {
			return err
		}
	}
	for {
		chunk, err := r.next()
		if err != nil {
			return err
		}
		if chunk == nil {
			return nil
		}
		n := len(chunk)
		if filter != nil {
			chunk = filter(chunk)
		}
		if w != nil && len(chunk) > 0 {
			_, _ = w.Write(chunk) // counted and reported by w
		}
		r.release()
		cfg.pause(n)
	}
}

// DefaultCoalesce is how long Pump waits after a small read before
// reading again (see WithCoalesce).
const DefaultCoalesce = 5 * time.Millisecond

// coalesceBelow is the read size under which Pump pauses: a stream this
// thin cannot fill a pipe (64 KiB) during the pause.
const coalesceBelow = 16 << 10

// PumpOption tunes a Pump.
type PumpOption func(*pumpConfig)

type pumpConfig struct {
	coalesce time.Duration
}

// WithCoalesce sets how long Pump waits after a read of less than 16 KiB
// before reading again, so that a chatty child's lines are moved in
// batches rather than one wake-up and one write per line: it divides the
// daemon's CPU per line by the number of lines a pause gathers, and delays
// output by at most d. A stream fast enough to fill the pipe is read
// without pauses. 0 reads as soon as data arrives; use it for protocol
// streams where latency matters (event listeners). Default
// DefaultCoalesce.
func WithCoalesce(d time.Duration) PumpOption {
	return func(c *pumpConfig) { c.coalesce = d }
}

// pause waits after a small read of n bytes.
func (c pumpConfig) pause(n int) {
	if c.coalesce > 0 && n < coalesceBelow {
		time.Sleep(c.coalesce)
	}
}

// chunkReader reads one chunk at a time from a pollable descriptor into a
// pooled buffer. Its read callback is built once so that reading allocates
// nothing per chunk.
type chunkReader struct {
	src    *os.File
	rc     syscall.RawConn
	pool   *chunkPool
	buf    *[]byte
	n      int
	err    error
	readFn func(fd uintptr) bool
}

func newChunkReader(src *os.File, rc syscall.RawConn, pool *chunkPool) *chunkReader {
	r := &chunkReader{src: src, rc: rc, pool: pool}
	r.readFn = r.read
	return r
}

// read is the RawConn callback: it borrows a buffer only when data (or EOF)
// is there, and gives it back when the pipe is empty.
func (r *chunkReader) read(fd uintptr) bool {
	r.buf = r.pool.get()
	for {
		r.n, r.err = unix.Read(int(fd), *r.buf)
		if r.err != unix.EINTR {
			break
		}
	}
	if r.err == unix.EAGAIN {
		r.pool.put(r.buf)
		r.buf = nil
		return false
	}
	return true
}

// next returns the next chunk, nil at EOF, or an error. The chunk stays
// valid until release.
func (r *chunkReader) next() ([]byte, error) {
	if err := r.rc.Read(r.readFn); err != nil {
		r.release()
		return nil, pumpError(r.src, err)
	}
	if r.err != nil {
		r.release()
		return nil, fmt.Errorf("pump: read: %w", r.err)
	}
	if r.n == 0 {
		r.release()
		return nil, nil
	}
	return (*r.buf)[:r.n], nil
}

func (r *chunkReader) release() {
	if r.buf != nil {
		r.pool.put(r.buf)
		r.buf = nil
	}
}

// pumpError wraps a RawConn error so that errors.Is(err, os.ErrClosed)
// holds when the owner closed the pipe under us: RawConn reports that
// with the poller's own error, which os.File's methods translate.
func pumpError(src *os.File, err error) error {
	if !errors.Is(err, os.ErrClosed) {
		if _, statErr := src.Stat(); errors.Is(statErr, os.ErrClosed) {
			return fmt.Errorf("pump: %w (%v)", os.ErrClosed, err)
		}
	}
	return fmt.Errorf("pump: %w", err)
}
