package logrot

import (
	"fmt"
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
// Rotation is checked after every chunk or splice, as the reference does
// after every read; a splice moves up to 256 KiB but never so much that the
// file would end more than ChunkSize bytes past maxbytes, the bound the
// reference's 128 KiB reads give. Write failures never stop the pump: w
// counts and reports them (Dropped, WithOnError) and the pipe keeps being
// drained, so the child never blocks on a full pipe because its log is
// broken.
//
// Pump blocks its goroutine, parked on the runtime netpoller while the
// pipe is empty. It returns nil at EOF. To abandon a pipe a grandchild
// still holds open, close src (Pump then returns an error matching
// os.ErrClosed) or set a read deadline on it (os.ErrDeadlineExceeded once
// the deadline has passed; whatever is still in the pipe then stays
// unread).
func Pump(src *Source, w *Writer, filter func(chunk []byte) []byte, opts ...PumpOption) error {
	defer src.Close()
	cfg := pumpConfig{coalesce: DefaultCoalesce}
	for _, o := range opts {
		o(&cfg)
	}
	pace := newPacer(cfg.coalesce, src)
	pool := &chunkPool{}
	if w != nil {
		pool = &w.chunks
	}
	r := newChunkReader(src, pool)
	if w != nil && filter == nil {
		eof, err := spliceLoop(r, w, pace, cfg.trail)
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
			_, _ = w.write(chunk, cfg.trail) // counted and reported by w
		}
		r.release()
		src.moved(n)
		pace.after(n)
	}
}

// DefaultCoalesce is how long Pump waits after a small read before
// reading again (see WithCoalesce).
const DefaultCoalesce = 10 * time.Millisecond

// coalesceBelow is the read size under which Pump pauses.
const coalesceBelow = 16 << 10

// steadyFactor lengthens the pause of a steady stream: one whose data
// kept coming during the whole previous pause, so that the pipe was not
// found empty since. Its lines wait at most steadyFactor × the coalescing
// delay (40 ms by default), in return for that many times fewer wake-ups.
const steadyFactor = 4

// fastStreamHold is how long Pump stops pausing once a pause has shown the
// stream to be fast (the pause let the pipe fill halfway: the child came
// close to blocking on it); then it probes again with one pause. A mere
// burst, such as a child catching up after the machine was busy, must not
// count: in fast mode a chatty stream costs a wake-up per write.
const fastStreamHold = time.Second

// PumpOption tunes a Pump.
type PumpOption func(*pumpConfig)

type pumpConfig struct {
	coalesce time.Duration
	trail    *Trail
}

// WithTrail makes Pump note in t where its own writes land in w's file,
// so that the end of what this source wrote can be read back (Trail.Read)
// even when other pumps write to the same file meanwhile.
func WithTrail(t *Trail) PumpOption {
	return func(c *pumpConfig) { c.trail = t }
}

// WithCoalesce sets how long Pump waits after a read of less than 16 KiB
// before reading again, so that a chatty child's lines are moved in
// batches rather than one wake-up and one write per line, and delays
// output by at most d; for a steady stream, where data was there again
// right after the pause, by at most 4×d. Pauses end on multiples of the
// pause so that pausing pumps wake together. When the read after a pause
// brings half a pipe or more, the stream is fast and Pump reads without
// pausing for the next second, so throughput is not capped. 0 reads as soon as
// data arrives; use it for protocol streams where latency matters (event
// listeners). Default DefaultCoalesce.
func WithCoalesce(d time.Duration) PumpOption {
	return func(c *pumpConfig) { c.coalesce = d }
}

// pacer decides, after each chunk, whether Pump pauses before the next.
type pacer struct {
	delay      time.Duration
	now        func() time.Time
	sleep      func(time.Duration)
	ranDry     func() bool // the pipe was found empty since the last pause
	capacity   func() int  // how much the pipe holds
	afterPause bool        // a pause came before the chunk being judged
	fastUntil  time.Time   // no pauses before this instant
}

func newPacer(delay time.Duration, src *Source) *pacer {
	return &pacer{delay: delay, now: time.Now, ranDry: src.registered, capacity: src.size, sleep: func(d time.Duration) {
		src.rest() // the child's writes during the pause must wake nobody
		time.Sleep(d)
	}}
}

// after is called with the size of each chunk read.
func (p *pacer) after(n int) {
	if p.delay <= 0 {
		return
	}
	// The chunk gathered in the pipe during the pause just taken, rather
	// than arriving after the pipe had run dry.
	gathered := p.afterPause && !p.ranDry()
	p.afterPause = false
	if gathered && n >= p.capacity()/2 {
		p.fastUntil = p.now().Add(fastStreamHold)
	}
	if n >= coalesceBelow { // more may be waiting: read on
		return
	}
	now := p.now()
	if now.Before(p.fastUntil) {
		return
	}
	pause := p.delay
	if gathered {
		pause *= steadyFactor
	}
	// Wake on a common boundary rather than a pause after this read:
	// pumps pausing together wake together, and the runtime serves them
	// in one batch instead of idling between each.
	p.sleep(pause - time.Duration(now.UnixNano()%int64(pause)))
	p.afterPause = true
}

// chunkReader reads one chunk at a time from a Source into a pooled
// buffer. Its read callback is built once so that reading allocates
// nothing per chunk.
type chunkReader struct {
	src    *Source
	pool   *chunkPool
	buf    *[]byte
	n      int
	err    error
	readFn func(fd uintptr) bool
}

func newChunkReader(src *Source, pool *chunkPool) *chunkReader {
	r := &chunkReader{src: src, pool: pool}
	r.readFn = r.read
	return r
}

// read is the Source.do callback: it borrows a buffer only when data (or
// EOF) is there, and gives it back when the pipe is empty.
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
	if err := r.src.do(r.readFn); err != nil {
		r.release()
		return nil, fmt.Errorf("pump: %w", err)
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
