package engine

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"gosupervisor/internal/protocol"
	"gosupervisor/internal/pyrepr"
	"gosupervisor/logrot"
	"gosupervisor/supervisord/events"
	"gosupervisor/supervisord/handover"
)

// drainGrace is how long output is still read after the process exited,
// for data a grandchild writes into the inherited pipe. A pipe nobody else
// holds reaches EOF at once.
const drainGrace = time.Second

// instanceIO is the parent side of one running instance's pipes.
type instanceIO struct {
	stdin   *stdinWriter // nil when the child has no stdin pipe (fcgi)
	outputs []outputPipe
	// handing is set when a handover stops the pumps: the pipes live on
	// in the successor, so their end-of-output work (capture flush, a
	// listener's EOF) is not done here.
	handing atomic.Bool
}

type outputPipe struct {
	channel protocol.Channel
	r       *logrot.Source
	// capture is the channel's capture-mode splitter, nil when none;
	// owned by the pump until it has returned.
	capture *events.Capture
}

// abandon stops reading: pumps drain what is buffered until the deadline.
func (io *instanceIO) abandon(deadline time.Time) {
	if io.stdin != nil {
		io.stdin.close()
	}
	for _, o := range io.outputs {
		_ = o.r.SetReadDeadline(deadline)
	}
}

// closeAll closes every parent end of an instance that never started.
func (io *instanceIO) closeAll() {
	if io.stdin != nil {
		io.stdin.close()
	}
	for _, o := range io.outputs {
		o.r.Close()
	}
}

// openLogs opens the channel log writers the first time p spawns.
func (e *Engine) openLogs(p *process) {
	for ch := range p.logs {
		l := &p.logs[ch]
		if l.path == "" || l.w != nil {
			continue
		}
		lc := p.cfg.Log(protocol.Channel(ch))
		opts := []logrot.Option{logrot.WithOnError(func(err error) {
			if !errors.Is(err, os.ErrClosed) { // a late chunk after the group went away
				e.log.Logf(protocol.LevelError, "%s log error: %v", p.name(), err)
			}
		})}
		if lc.Auto {
			// Created 0600 with the group; rotation must not recreate
			// it with the umask's wider mode.
			opts = append(opts, logrot.WithPerm(0o600))
		}
		lw, err := logrot.Open(l.path, lc.MaxBytes, lc.Backups, opts...)
		if err != nil {
			e.log.Logf(protocol.LevelError, "could not open log for %s: %v", p.name(), err)
			continue
		}
		l.w = lw
	}
}

// makePipes creates the child's stdin/stdout/stderr; childFiles are the
// ends the child gets as fds 0, 1, 2.
func (e *Engine) makePipes(p *process) (*instanceIO, []*os.File, error) {
	io := &instanceIO{}
	var parentEnds, childEnds []*os.File
	fail := func(err error) (*instanceIO, []*os.File, error) {
		for _, f := range append(parentEnds, childEnds...) {
			f.Close()
		}
		for _, o := range io.outputs {
			o.r.Close()
		}
		if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
			return nil, nil, fmt.Errorf("too many open files to spawn %s", pyrepr.Str(p.name()))
		}
		return nil, nil, fmt.Errorf("unknown error making dispatchers for %s: %s", pyrepr.Str(p.name()), errnoName(err))
	}
	files := make([]*os.File, 3)
	if p.group.isFCGI() {
		sock, err := e.acquireSocket(p.group)
		if err != nil {
			return fail(err)
		}
		files[0] = sock
	} else {
		r, w, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		parentEnds, childEnds = append(parentEnds, w), append(childEnds, r)
		files[0] = r
		io.stdin = newStdinWriter(w, nil, &e.stdinWG)
	}
	// Output pipes are logrot Sources: they stay out of the runtime
	// poller while their pump pauses, so a chatty child costs no wake-up
	// per line.
	r, w, err := logrot.Pipe()
	if err != nil {
		return fail(err)
	}
	childEnds = append(childEnds, w)
	files[1] = w
	io.outputs = append(io.outputs, outputPipe{channel: protocol.Stdout, r: r})
	if p.cfg.RedirectStderr {
		files[2] = w
	} else {
		r, w, err := logrot.Pipe()
		if err != nil {
			return fail(err)
		}
		childEnds = append(childEnds, w)
		files[2] = w
		io.outputs = append(io.outputs, outputPipe{channel: protocol.Stderr, r: r})
	}
	return io, files, nil
}

// startIO starts one pump per output pipe. A capture splitter already set
// on an output (a handover's) is kept. The stdin writer starts its
// goroutine by itself, at the first write.
func (e *Engine) startIO(p *process, io *instanceIO, pid int) {
	for i := range io.outputs {
		o := &io.outputs[i]
		w := p.logs[o.channel].w
		filter, atEOF, capture := e.eventFilter(p, o.channel, pid, w, e.outputFilter(p, o.channel), o.capture)
		o.capture = capture
		coalesce := e.outputCoalesce(p, o.channel)
		src := o.r
		e.pumps.Add(1)
		tail := e.outputTailer(p, o.channel, w)
		go func() {
			defer e.pumps.Done()
			_ = logrot.Pump(src, w, filter, logrot.WithCoalesce(coalesce), logrot.WithTrail(tail.trail))
			if io.handing.Load() {
				return // handed over: the instance runs on
			}
			if atEOF != nil {
				atEOF()
			}
			tail.send()
		}()
	}
	p.io = io
}

// outputCoalesce is how long a channel's pump lets output gather before
// moving it (logrot.WithCoalesce). The streams the engine parses are read
// as soon as data arrives: an event listener's stdout carries its
// protocol, a capture-mode channel its PROCESS_COMMUNICATION tokens.
// Other output only goes to logs and is moved in batches.
func (e *Engine) outputCoalesce(p *process, ch protocol.Channel) time.Duration {
	listenerProtocol := ch == protocol.Stdout && e.poolOf(p) != nil
	if listenerProtocol || p.cfg.Log(ch).CaptureMaxBytes > 0 {
		return 0
	}
	return logrot.DefaultCoalesce
}

// releaseIO lets go of an exited instance's pipes: stdin closes now,
// output is drained for drainGrace at most. Draining instances are kept
// until their grace has passed, so the engine's end can cut them short.
func (e *Engine) releaseIO(p *process, _ time.Time) {
	if p.io == nil {
		return
	}
	wall := time.Now()
	e.draining = slices.DeleteFunc(e.draining, func(d drainingIO) bool { return wall.After(d.until) })
	until := wall.Add(drainGrace)
	p.io.abandon(until)
	e.draining = append(e.draining, drainingIO{p.io, until})
	p.io = nil
}

// drainingIO is an exited instance whose pumps may still be reading.
type drainingIO struct {
	io    *instanceIO
	until time.Time
}

// stopAllIO stops every pump (the engine is ending) and waits for them,
// so that log writers can be closed after the last write. An exited
// instance keeps the rest of its drain grace: what a program wrote just
// before it ended, such as its last lines at a shutdown, is still in its
// pipe and would be lost (a read past its deadline fails before it
// reads). Nothing else reads them after the loop ends; a grandchild that
// holds a pipe open delays the end by drainGrace at most.
func (e *Engine) stopAllIO() {
	now := time.Now()
	e.draining = nil
	for _, g := range e.order {
		for _, p := range g.procs {
			if p.io != nil {
				// Still running (UNKNOWN after a failed kill): let go of it.
				p.io.abandon(now)
				p.io = nil
			}
		}
	}
	e.ev.queue.close() // a pump waiting for room would never see its deadline
	for _, src := range e.strayIO {
		src.Close()
	}
	e.stdinWG.Wait()
	e.pumps.Wait()
	e.strayWG.Wait()
}

// outputFilter is nil (the zero-copy path) unless output must be changed
// (strip_ansi) or copied to syslog (*_syslog) or to the main log (loglevel
// debug). eventFilter wraps it for capture mode and PROCESS_LOG events.
func (e *Engine) outputFilter(p *process, ch protocol.Channel) func([]byte) []byte {
	strip := e.cfg.Supervisord.StripANSI
	debug := e.log.Enabled(protocol.LevelDebug)
	toSyslog := p.cfg.Log(ch).Syslog
	if !strip && !debug && !toSyslog {
		return nil
	}
	name := pyrepr.Str(p.name())
	prefix := p.name() + " "
	log, sys := e.log, e.syslog
	return func(chunk []byte) []byte {
		if strip {
			chunk = logrot.StripANSI(chunk)
		}
		if toSyslog && len(chunk) > 0 {
			sys.SendLines(prefix, chunk)
		}
		if debug && len(chunk) > 0 {
			text := string(chunk)
			if !utf8.Valid(chunk) {
				text = "Undecodable: " + pyrepr.Bytes(chunk)
			}
			log.Logf(protocol.LevelDebug, "%s %s output:\n%s", name, ch, text)
		}
		return chunk
	}
}

// maxStdinQueue bounds what a child's stdin queue holds that the child
// has not read yet (beyond the pipe's own buffer). The reference buffers
// without limit; a child that never reads its stdin would make the daemon
// grow with every sendProcessStdin. One write of any size (the RPC body
// limit bounds it) is accepted when the queue is empty.
const maxStdinQueue = 4 << 20

// errStdinFull is a send refused because the queue is full.
type errStdinFull struct{ pending int }

func (e *errStdinFull) Error() string {
	return fmt.Sprintf("stdin queue full (%d bytes not yet read by the program)", e.pending)
}

// stdinWriter feeds a child's stdin from its own goroutine, so a child
// that stops reading never blocks the engine loop. The goroutine starts
// at the first write: most programs are never sent anything, and with
// thousands of them an idle writer each was half the daemon's goroutines
// (a stack and a g each, about 2.7 KiB).
type stdinWriter struct {
	f  *os.File        // pollable: SetWriteDeadline interrupts a blocked Write
	wg *sync.WaitGroup // counts the goroutine once started

	mu sync.Mutex
	// started: the goroutine runs (or ran); wake, done and exited exist
	// from then on (exited is closed when it returns).
	started            bool
	wake, done, exited chan struct{}
	// queue holds what is not yet written; its head may be partly
	// written (only its rest is kept).
	queue     [][]byte
	pending   int // bytes queued or being written, not yet taken by the pipe
	broken    bool
	closing   bool
	detaching bool // a handover is taking the pipe: stop writing, keep the queue
}

// newStdinWriter makes the writer of the pipe f; pending (a handover's
// unwritten bytes) is written first, by a goroutine started at once.
func newStdinWriter(f *os.File, pending []byte, wg *sync.WaitGroup) *stdinWriter {
	s := &stdinWriter{f: f, wg: wg}
	if len(pending) > 0 {
		s.queue, s.pending = [][]byte{pending}, len(pending)
		s.mu.Lock()
		s.wakeLocked()
		s.mu.Unlock()
	}
	return s
}

// wakeLocked tells the goroutine there is work, starting it the first
// time. s.mu is held, and the writer is not closing.
func (s *stdinWriter) wakeLocked() {
	if !s.started {
		s.started = true
		s.wake, s.done, s.exited = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.run()
		}()
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// send queues data; it fails once the pipe is closed or broken (EPIPE),
// or with *errStdinFull when the child lags maxStdinQueue behind.
func (s *stdinWriter) send(data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken || s.closing {
		return syscall.EPIPE
	}
	if s.pending > 0 && s.pending+len(data) > maxStdinQueue {
		return &errStdinFull{pending: s.pending}
	}
	s.pending += len(data)
	s.queue = append(s.queue, append([]byte(nil), data...))
	s.wakeLocked()
	return nil
}

func (s *stdinWriter) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closing {
		s.closing = true
		if s.started {
			close(s.done)
		}
		// Unblocks a Write stuck on a full pipe.
		s.f.Close()
	}
}

func (s *stdinWriter) run() {
	defer close(s.exited)
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			if len(s.queue) == 0 || s.detaching {
				s.mu.Unlock()
				break
			}
			b := s.queue[0]
			s.mu.Unlock()
			n, err := s.f.Write(b)
			s.mu.Lock()
			s.pending -= n
			if n == len(b) {
				s.queue[0] = nil // written: let it go before the rest is
				s.queue = s.queue[1:]
			} else {
				s.queue[0] = b[n:]
			}
			if err != nil && !s.detaching {
				s.broken = true
			}
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

// dup returns a duplicate (close-on-exec) of the pipe's descriptor for
// a handover, or -1 when the pipe is closed or broken already (there is
// nothing to hand over).
func (s *stdinWriter) dup() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || s.broken {
		return -1, nil
	}
	fd := -1
	rc, err := s.f.SyscallConn()
	if err == nil {
		cerr := rc.Control(func(raw uintptr) {
			fd, err = handover.Dup(int(raw))
		})
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return -1, fmt.Errorf("stdin: dup: %w", err)
	}
	return fd, nil
}

// detach stops the writer for a handover without losing a byte: a
// blocked write is cut short by a deadline and its rest stays queued.
// It closes its descriptor (dup made the one handed over) and returns
// everything not yet written.
func (s *stdinWriter) detach() []byte {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.detaching = true
	s.closing = true
	started := s.started // no goroutine starts once closing is set
	if started {
		close(s.done)
	}
	s.mu.Unlock()
	if started {
		_ = s.f.SetWriteDeadline(time.Unix(1, 0))
		<-s.exited
	}
	s.mu.Lock()
	var pending []byte
	for _, b := range s.queue {
		pending = append(pending, b...)
	}
	s.queue, s.pending = nil, 0
	s.mu.Unlock()
	s.f.Close()
	return pending
}
