// Package notify receives sd_notify(3) notifications from supervised
// programs: one AF_UNIX datagram socket per process per spawn, with
// SO_PASSCRED so that the kernel tells who sent each datagram.
//
// A socket per spawn means a datagram always names its instance: nothing
// an earlier instance queued can reach a later one, and no pid lookup is
// needed to attribute a message. Each socket has one goroutine that
// reads datagrams, closes every descriptor that came with them (which is
// what completes a sender's BARRIER=1; descriptor storage is not
// supported), answers bare keep-alives (WATCHDOG=1) itself by moving an
// atomic timestamp, and hands everything else, in order, to the engine
// on a channel. The engine decides what a message means; this package
// only receives, checks what the kernel vouches for, and parses.
package notify

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/config"
	"gosupervisor/internal/sdnotify"
)

// maxPath is the longest socket path sun_path holds (108 bytes with the
// terminating NUL).
const maxPath = 107

// Dir is where the sockets of one daemon live: notify_dir, or a private
// directory (mode 0711, unpredictable name) made under a temporary
// directory on first use and removed by Close. It is made only when a
// program needs a socket, so a config without notify keys creates nothing.
// Listen and Close are called by one goroutine at a time (the engine's).
type Dir struct {
	configured string // notify_dir; "" = a private directory under tmp
	tmp        string
	daemonPID  int

	path    string // the directory in use, once prepared
	private bool   // we made path and remove it at Close
	seq     uint64
	bufs    sync.Pool // receive buffers, shared by every socket's goroutine
	sweeper sweeper   // reads the resting sockets (see rest)
}

// NewDir describes the socket directory of the daemon with pid daemonPID:
// configured is notify_dir ("" for a private directory made under tmp).
// Nothing is created yet.
func NewDir(configured, tmp string, daemonPID int) *Dir {
	d := &Dir{configured: configured, tmp: tmp, daemonPID: daemonPID}
	d.sweeper.resting = map[*Socket]struct{}{}
	d.bufs.New = func() any { return new(buffers) }
	return d
}

// buffers are what one recvmsg needs: the datagram, one byte more to
// tell an overlong one, and control space for credentials and a few
// descriptors (the kernel closes descriptors that do not fit and says
// MSG_CTRUNC).
type buffers struct {
	data [sdnotify.MaxDatagram]byte
	oob  [64]byte
}

// prepare makes or checks the directory the first time a socket is needed.
func (d *Dir) prepare() error {
	if d.path != "" {
		return nil
	}
	if d.configured == "" {
		path, err := os.MkdirTemp(d.tmp, "gosupervisor-notify-")
		if err != nil {
			return fmt.Errorf("notify_dir: %w", err)
		}
		// Programs running as other users must reach their socket
		// through it, but not list it.
		if err := os.Chmod(path, 0o711); err != nil {
			os.Remove(path)
			return fmt.Errorf("notify_dir: %w", err)
		}
		d.path, d.private = path, true
		return nil
	}
	if err := os.Mkdir(d.configured, 0o711); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("notify_dir %s: %w", d.configured, err)
	}
	if err := trustedDir(d.configured); err != nil {
		return err
	}
	d.path = d.configured
	return nil
}

// trustedDir refuses a directory another user could plant files or links
// in: sockets are bound by name in it and chowned to programs' users.
func trustedDir(path string) error {
	st, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("notify_dir %s: %w", path, err)
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	switch {
	case !st.IsDir():
		return fmt.Errorf("notify_dir %s: not a directory", path)
	case sys == nil || int(sys.Uid) != os.Geteuid():
		return fmt.Errorf("notify_dir %s: not owned by the daemon's user", path)
	case st.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("notify_dir %s: writable by other users (mode %04o)", path, st.Mode().Perm())
	}
	return nil
}

// Close removes the private directory, if one was made. Every socket
// must be closed first.
func (d *Dir) Close() error {
	if !d.private {
		return nil
	}
	d.private = false
	return os.Remove(d.path)
}

// address is where the socket of one spawn lives: <dir>/<group>.<name>.<seq>,
// or, when that does not fit sun_path, the abstract
// @gosupervisor/<daemon pid>/<group>.<name>/<seq> (shortened with a hash
// when the names are long). Abstract sockets have no permissions: the
// credential checks are all that guards them.
func (d *Dir) address(group, name string, seq uint64) string {
	who := safeName(group) + "." + safeName(name)
	if p := filepath.Join(d.path, fmt.Sprintf("%s.%d", who, seq)); len(p) <= maxPath {
		return p
	}
	abs := fmt.Sprintf("@gosupervisor/%d/%s/%d", d.daemonPID, who, seq)
	if len(abs) <= maxPath {
		return abs
	}
	sum := sha256.Sum256([]byte(group + ":" + name))
	return fmt.Sprintf("@gosupervisor/%d/%s/%d", d.daemonPID, hex.EncodeToString(sum[:12]), seq)
}

// safeName keeps a name's letters, digits, '-' and '_' and replaces the
// rest with '_' (names never hold '/', but may hold anything else).
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// Options describe the socket of one spawn.
type Options struct {
	// Group and Name name the process (for the socket's name).
	Group, Name string
	// UID and GID are the program's user, who gets the socket file
	// (mode 0600); -1 when it runs as the daemon's user.
	UID, GID int
	// Access is notify_access; UID with it decides what the socket's
	// goroutine accepts as a keep-alive by itself (see Permits).
	Access config.NotifyAccess
	// Out receives what the engine must handle, in the order sent.
	Out chan<- Delivery
	// Token is handed back with every delivery, so the engine knows
	// which process and spawn it is for.
	Token any
	// Now is the clock for keep-alive times.
	Now func() time.Time
}

// Delivery is one datagram (or one problem) for the engine.
type Delivery struct {
	// Token is the socket's Options.Token.
	Token any
	// Msg is the parsed datagram; PID and UID are the sender's, as the
	// kernel vouches for them.
	Msg      sdnotify.Message
	PID, UID int
	// Err is set instead for a datagram that was dropped (too long,
	// truncated, without credentials, with a NUL byte); each socket
	// reports at most one.
	Err error
}

// Socket is the notification socket of one spawn. The engine owns it:
// it creates it before the spawn, sets the main pid after, and closes it
// when that instance has been reaped.
type Socket struct {
	addr   string // the NOTIFY_SOCKET value
	path   string // the file to remove; "" for an abstract socket
	h      handle
	access config.NotifyAccess
	uid    int // the program's uid (the daemon's when it has no user=)
	out    chan<- Delivery
	token  any
	now    func() time.Time
	bufs   *sync.Pool
	// sweeper reads the socket while it rests; wake is where it hands
	// back what ends the rest.
	sweeper *sweeper
	wake    chan restResult
	// busySweeps counts the sweeps in a row that found a keep-alive
	// (the sweeper's, under its lock).
	busySweeps int
	// reported is set once a problem has been handed over (the socket's
	// goroutine's).
	reported bool

	mainPID atomic.Int64
	base    time.Time    // lastPing counts from here (monotonic)
	ping    atomic.Int64 // ns after base of the last keep-alive; 0 = none

	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	// drainc is closed by Drain; the goroutine then hands what is left
	// on handoff and ends.
	drainc    chan struct{}
	handoff   chan Delivery
	drainOnce sync.Once
}

// Listen creates the socket of the next spawn of a process and starts
// its goroutine.
func (d *Dir) Listen(o Options) (*Socket, error) {
	if err := d.prepare(); err != nil {
		return nil, err
	}
	d.seq++
	addr := d.address(o.Group, o.Name, d.seq)
	fd, err := bind(addr)
	if err != nil {
		return nil, err
	}
	s := d.socket(o, addr)
	fail := func(err error) (*Socket, error) {
		unix.Close(fd)
		if addr[0] == '/' {
			os.Remove(addr)
		}
		return nil, fmt.Errorf("notify socket %s: %w", addr, err)
	}
	if addr[0] == '/' {
		s.path = addr
		// The directory admits nobody else, so the name cannot have been
		// swapped since the bind.
		err := os.Chmod(addr, 0o600)
		if err == nil && o.UID >= 0 {
			err = os.Lchown(addr, o.UID, o.GID)
		}
		if err != nil {
			return fail(err)
		}
	}
	if err := s.h.open(fd, addr); err != nil {
		return fail(err)
	}
	s.base = s.now()
	go s.run()
	return s, nil
}

// socket is a Socket at addr, not started.
func (d *Dir) socket(o Options, addr string) *Socket {
	s := &Socket{
		addr: addr, access: o.Access, uid: o.UID,
		out: o.Out, token: o.Token, now: o.Now, bufs: &d.bufs,
		sweeper: &d.sweeper, wake: make(chan restResult, 1),
		quit: make(chan struct{}), done: make(chan struct{}),
		drainc: make(chan struct{}), handoff: make(chan Delivery),
	}
	if s.uid < 0 {
		s.uid = os.Geteuid()
	}
	return s
}

// State is what an upgrade in place hands over of the directory: its
// path ("" while none is prepared), whether the daemon made it (and
// removes it at exit), and the last sequence number a socket took.
func (d *Dir) State() (path string, private bool, seq uint64) {
	return d.path, d.private, d.seq
}

// Resume takes over a predecessor's directory (see State), so that
// sockets made from now on get names of their own.
func (d *Dir) Resume(path string, private bool, seq uint64) {
	d.path, d.private, d.seq = path, private, seq
}

// Adopt takes over a socket a predecessor handed over: fd is bound at
// addr (the program's NOTIFY_SOCKET, which therefore stays valid), with
// SO_PASSCRED; datagrams queued on it meanwhile are read first.
func (d *Dir) Adopt(o Options, fd int, addr string) (*Socket, error) {
	if addr == "" {
		return nil, errors.New("notify socket: no address")
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("notify socket %s: %w", addr, err)
	}
	unix.CloseOnExec(fd)
	s := d.socket(o, addr)
	if addr[0] == '/' {
		s.path = addr
	}
	if err := s.h.open(fd, addr); err != nil {
		return nil, fmt.Errorf("notify socket %s: %w", addr, err)
	}
	s.base = s.now()
	go s.run()
	return s, nil
}

// bind makes a non-blocking datagram socket bound at addr, with
// SO_PASSCRED. A socket file left at the name by a daemon that died is
// replaced; a live one is not.
func bind(addr string) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("notify socket %s: %w", addr, err)
	}
	sa := &unix.SockaddrUnix{Name: addr}
	err = unix.Bind(fd, sa)
	if errors.Is(err, unix.EADDRINUSE) && addr[0] == '/' && stale(addr) {
		os.Remove(addr)
		err = unix.Bind(fd, sa)
	}
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("notify socket %s: %w", addr, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		unix.Close(fd)
		if addr[0] == '/' {
			os.Remove(addr)
		}
		return -1, fmt.Errorf("notify socket %s: SO_PASSCRED: %w", addr, err)
	}
	return fd, nil
}

// handle is the socket's descriptor in one of two forms: registered with
// the runtime's poller (an *os.File) while the goroutine waits for
// datagrams, or bare while the socket rests, so that a datagram wakes
// nobody until the sweeper reads it (a registered descriptor wakes the
// poller's thread for each one, read or not). Only the socket's
// goroutine changes the form; Drain and Close only set the deadline.
type handle struct {
	mu   sync.Mutex
	file *os.File        // nil while bare
	raw  syscall.RawConn // file's
	fd   int             // file's descriptor, or the bare one
	// stopped is set by stop: a read waiting on the poller returns, now
	// and after the next register.
	stopped bool
}

func (h *handle) open(fd int, name string) error {
	h.fd = fd
	return h.register(name)
}

// register wraps the bare descriptor into a registered file.
func (h *handle) register(name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := os.NewFile(uintptr(h.fd), name)
	raw, err := f.SyscallConn()
	if err != nil {
		return err
	}
	h.file, h.raw = f, raw
	if h.stopped {
		_ = f.SetReadDeadline(time.Unix(1, 0))
	}
	return nil
}

// unregister leaves the poller: a duplicate descriptor stays, the file
// (and with it the registration) goes.
func (h *handle) unregister() error {
	dup, err := unix.FcntlInt(uintptr(h.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.file.Close()
	h.file, h.raw, h.fd = nil, nil, dup
	return nil
}

// stop wakes a read waiting on the poller, for good.
func (h *handle) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	if h.file != nil {
		_ = h.file.SetReadDeadline(time.Unix(1, 0))
	}
}

// read calls f with the descriptor: once the poller says it is
// readable, and again while f returns false (wait), or once at once.
func (h *handle) read(wait bool, f func(fd uintptr) bool) error {
	h.mu.Lock()
	raw, fd := h.raw, h.fd
	h.mu.Unlock()
	switch {
	case raw == nil && wait:
		return errors.New("notify: waiting on a bare descriptor")
	case raw == nil:
		f(uintptr(fd))
		return nil
	case wait:
		return raw.Read(f)
	}
	// Control ignores the deadline stop set.
	return raw.Control(func(fd uintptr) { f(fd) })
}

func (h *handle) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.file != nil {
		h.file.Close()
	} else {
		unix.Close(h.fd)
	}
}

// stale reports whether the socket file at path has nobody bound to it.
func stale(path string) bool {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// Addr is the value for the child's NOTIFY_SOCKET.
func (s *Socket) Addr() string { return s.addr }

// SetMainPID tells the socket's goroutine which pid may send keep-alives
// under notify_access main/exec (the spawned pid, or a MAINPID= the
// engine accepted). Until it is set, keep-alives go to the engine.
func (s *Socket) SetMainPID(pid int) { s.mainPID.Store(int64(pid)) }

// LastPing is when the last keep-alive the socket's goroutine accepted by
// itself arrived; the zero time if none.
func (s *Socket) LastPing() time.Time {
	if ns := s.ping.Load(); ns != 0 {
		return s.base.Add(time.Duration(ns))
	}
	return time.Time{}
}

// Close stops the goroutine, closes the socket and removes its file.
// Datagrams not yet handed over are dropped. Closing twice is harmless.
func (s *Socket) Close() { s.stop(true) }

// Leave is Close for an upgrade in place: the socket's file stays, for
// the successor that has a duplicate of its descriptor (Dup).
func (s *Socket) Leave() { s.stop(false) }

func (s *Socket) stop(remove bool) {
	s.closeOnce.Do(func() {
		close(s.quit)
		// Wake the goroutine if it waits for a datagram; it leaves the
		// sweeper before it ends, so nothing reads the socket after.
		s.h.stop()
		<-s.done
		s.h.close()
		if remove && s.path != "" {
			os.Remove(s.path)
		}
	})
}

// Dup is a duplicate of the socket's descriptor, with close-on-exec,
// for an upgrade in place.
func (s *Socket) Dup() (int, error) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	fd, err := unix.FcntlInt(uintptr(s.h.fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return -1, fmt.Errorf("notify socket %s: %w", s.addr, err)
	}
	return fd, nil
}

// Permits reports whether notify_access lets a datagram from a sender
// with pid and uid through, for a process whose main pid is mainPID and
// whose user is programUID: main and exec (there are no control
// processes) want the main pid, all wants the program's user or root,
// none refuses everything.
func Permits(access config.NotifyAccess, pid, uid, mainPID, programUID int) bool {
	switch access {
	case config.NotifyMain, config.NotifyExec:
		return mainPID > 0 && pid == mainPID
	case config.NotifyAll:
		return uid == programUID || uid == 0
	}
	return false
}

// deliveryLimit bounds how many datagrams per second one socket hands to
// the engine; beyond it the goroutine stops reading until the second is
// over, so a flooding program fills its own socket's queue (and then
// blocks or fails in sd_notify) instead of keeping the engine busy.
const deliveryLimit = 200

// run reads datagrams until Close, or until Drain has had the rest.
func (s *Socket) run() {
	defer close(s.done)
	window, count := s.now(), 0
	for {
		d, fds, err := s.receive(true)
		if err == errPinged {
			// The program sends keep-alives: let the sweeper read them.
			closeAll(fds)
			d, fds, err = s.rest()
		}
		if err != nil {
			if s.draining() {
				s.drainRest()
			}
			return
		}
		d = s.firstProblem(d)
		ok := true
		if d != nil {
			if now := s.now(); now.Sub(window) >= time.Second {
				window, count = now, 0
			}
			if count++; count > deliveryLimit {
				ok = s.pause(time.Second - s.now().Sub(window))
				window, count = s.now(), 1
			}
			ok = ok && s.hand(*d)
		}
		// Descriptors are closed once the engine has taken the datagram
		// they came with, and so everything sent before it: that is what
		// a BARRIER=1 sender waits for.
		closeAll(fds)
		if !ok {
			return
		}
	}
}

// A program under a watchdog sends a keep-alive every few seconds, and
// waking a goroutine through the poller for each costs more than the
// keep-alive is worth (200 programs pinging every second took 2 % of a
// core). So once a socket has had a keep-alive it rests: its goroutine
// parks, and the Dir's sweeper reads every resting socket once per
// restBeat with non-blocking reads, taking keep-alives itself. Anything
// but a keep-alive, or keep-alives found sweep after sweep, ends the
// rest: the goroutine gets it and waits on the poller
// again. Messages that come during a rest wait for the next sweep (the
// kernel queues them: net.unix.max_dgram_qlen, 10 by default, beyond
// which a sender blocks), and a keep-alive is seen up to ReadLag late.
const (
	restBeat = 250 * time.Millisecond
	// restMaxPings is how many sweeps in a row may find a keep-alive
	// before the socket stops resting: a program that pings that often
	// would fill the queue.
	restMaxPings = 3
)

// ReadLag is how late a keep-alive may be seen: the engine allows it
// before it decides that one was missed.
const ReadLag = restBeat

// restResult is what ends a rest: a datagram (as receive returns it), or
// nothing (too many keep-alives: wait on the poller again).
type restResult struct {
	d   *Delivery
	fds []int
	err error
}

// errStopped ends a rest at Drain or Close.
var errStopped = errors.New("socket stopped")

// rest parks the goroutine while the sweeper reads the socket, until it
// hands something back or Drain or Close comes.
func (s *Socket) rest() (*Delivery, []int, error) {
	if err := s.h.unregister(); err != nil {
		return nil, nil, nil // rest another time
	}
	defer func() {
		if err := s.h.register(s.addr); err != nil {
			// Unlikely (the runtime's poller refused a socket); reading
			// stops, the socket still closes.
			s.h.stop()
		}
	}()
	s.busySweeps = 0
	s.sweeper.add(s)
	select {
	case r := <-s.wake:
		return r.d, r.fds, r.err
	case <-s.drainc:
	case <-s.quit:
	}
	// Leave the sweeper; what it handed back meanwhile is still ours, and
	// comes first.
	s.sweeper.remove(s)
	select {
	case r := <-s.wake:
		if r.d != nil || r.fds != nil || r.err != nil {
			return r.d, r.fds, r.err
		}
	default:
	}
	return nil, nil, errStopped
}

// sweeper reads resting sockets every restBeat, from a timer that runs
// only while some socket rests.
type sweeper struct {
	mu      sync.Mutex
	resting map[*Socket]struct{}
	armed   bool
	// Reused by sweep: one poll(2) finds the sockets with something
	// queued, so an idle socket costs no read.
	pfds  []unix.PollFd
	socks []*Socket
}

func (w *sweeper) add(s *Socket) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.resting[s] = struct{}{}
	if !w.armed {
		w.armed = true
		time.AfterFunc(restBeat, w.sweep)
	}
}

func (w *sweeper) remove(s *Socket) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.resting, s)
}

// sweep reads every resting socket, under the lock: a socket leaves
// through remove, which waits for a sweep in progress, so nothing reads
// it once it has left.
func (w *sweeper) sweep() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pfds, w.socks = w.pfds[:0], w.socks[:0]
	for s := range w.resting {
		w.pfds = append(w.pfds, unix.PollFd{Fd: int32(s.h.fd), Events: unix.POLLIN})
		w.socks = append(w.socks, s)
	}
	if _, err := unix.Poll(w.pfds, 0); err != nil {
		// Read them all instead.
		for i := range w.pfds {
			w.pfds[i].Revents = unix.POLLIN
		}
	}
	for i, s := range w.socks {
		if w.pfds[i].Revents == 0 {
			s.busySweeps = 0
			continue
		}
		if r, rest := s.sweepOnce(); !rest {
			delete(w.resting, s)
			s.wake <- r // buffered, and empty while s rests
		}
	}
	clear(w.socks) // no reference kept to closed sockets
	if len(w.resting) > 0 {
		time.AfterFunc(restBeat, w.sweep)
	} else {
		w.armed = false
	}
}

// sweepOnce reads one datagram of s, which poll found readable, taking a
// keep-alive; it reports whether s rests on. One read per sweep: a
// second would most often only say EAGAIN, and reads are what resting
// saves. A socket readable sweep after sweep belongs to a program that
// pings faster than sweeps come, which would fill the queue: it goes
// back to the poller.
func (s *Socket) sweepOnce() (restResult, bool) {
	d, fds, err := s.receive(false)
	switch {
	case err == errPinged:
		s.busySweeps++
		closeAll(fds)
		return restResult{}, s.busySweeps <= restMaxPings
	case err == errWouldBlock:
		return restResult{}, true
	case err != nil || d != nil:
		return restResult{d, fds, err}, false
	}
	closeAll(fds) // an empty datagram's
	return restResult{}, true
}

// hand gives d to the engine: on Out, or to Drain once it has begun. It
// reports false after Close.
func (s *Socket) hand(d Delivery) bool {
	select {
	case s.out <- d:
		return true
	case <-s.drainc:
		select {
		case s.handoff <- d:
			return true
		case <-s.quit:
			return false
		}
	case <-s.quit:
		return false
	}
}

// drainRest hands Drain every datagram still queued, then ends.
func (s *Socket) drainRest() {
	for {
		d, fds, err := s.receive(false)
		if err == errPinged {
			closeAll(fds)
			continue
		}
		if err != nil {
			return // nothing left (or closed)
		}
		d = s.firstProblem(d)
		ok := d == nil || s.hand(*d)
		closeAll(fds)
		if !ok {
			return
		}
	}
}

// firstProblem is d, except a problem report after the first, which is
// nil: the engine logs one per socket and says further ones are dropped.
func (s *Socket) firstProblem(d *Delivery) *Delivery {
	if d != nil && d.Err != nil {
		if s.reported {
			return nil
		}
		s.reported = true
	}
	return d
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func (s *Socket) draining() bool {
	select {
	case <-s.drainc:
		return true
	default:
		return false
	}
}

// Drain returns, in order, what the socket has received and not yet
// handed to the engine, and stops it: no delivery comes on Out after it
// returns. The engine calls it when the instance's process has exited,
// before it handles the exit, so that a program's last words (a READY=1
// or STATUS= sent just before exiting) count, as systemd reads its
// notification socket before it looks at exits. Close is still needed.
func (s *Socket) Drain() []Delivery {
	s.drainOnce.Do(func() { close(s.drainc) })
	// Wake the goroutine if it waits for a datagram.
	s.h.stop()
	var out []Delivery
	for {
		select {
		case d := <-s.handoff:
			out = append(out, d)
		case <-s.done:
			return out
		}
	}
}

// pause waits for d, Drain or Close; it reports false after Close.
func (s *Socket) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.drainc:
		return true
	case <-s.quit:
		return false
	}
}

// errWouldBlock is receive's answer when it must not wait and nothing is
// queued; errPinged when the datagram was a keep-alive it took itself.
var (
	errWouldBlock = errors.New("no datagram queued")
	errPinged     = errors.New("keep-alive taken")
)

// receive reads one datagram, waiting for one when wait is set (else
// errWouldBlock). It returns the delivery for the engine (nil when there
// is none: an empty datagram, or a keep-alive it took itself, which it
// says with errPinged) and the descriptors that came with it, which the
// caller closes; another error once the socket is closed (or its read
// deadline passed).
func (s *Socket) receive(wait bool) (*Delivery, []int, error) {
	var (
		n, oobn, flags int
		rerr           error
		b              *buffers
	)
	read := func(fd uintptr) bool {
		b = s.bufs.Get().(*buffers)
		n, oobn, flags, _, rerr = unix.Recvmsg(int(fd), b.data[:], b.oob[:], unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC|unix.MSG_TRUNC)
		if rerr == unix.EAGAIN && wait {
			s.bufs.Put(b)
			return false
		}
		return true
	}
	err := s.h.read(wait, read)
	if err != nil {
		return nil, nil, err
	}
	defer s.bufs.Put(b)
	switch {
	case rerr == unix.EAGAIN:
		return nil, nil, errWouldBlock
	case rerr == unix.EINTR:
		return nil, nil, nil
	case rerr != nil:
		return nil, nil, rerr
	}
	fds, cred, credErr := controlData(b.oob[:oobn])
	var dropped error
	switch {
	case flags&unix.MSG_TRUNC != 0 || n > sdnotify.MaxDatagram:
		dropped = fmt.Errorf("dropped a notification longer than %d bytes", sdnotify.MaxDatagram)
	case flags&unix.MSG_CTRUNC != 0:
		dropped = errors.New("dropped a notification with truncated control data")
	case credErr != nil:
		dropped = fmt.Errorf("dropped a notification: %w", credErr)
	}
	if dropped != nil {
		return &Delivery{Token: s.token, Err: dropped}, fds, nil
	}
	if n == 0 {
		return nil, fds, nil
	}
	pid, uid := int(cred.Pid), int(cred.Uid)
	// The common case first, without Parse's bookkeeping or allocating.
	if data := b.data[:n]; string(data) == sdnotify.Watchdog || string(data) == sdnotify.Watchdog+"\n" {
		if Permits(s.access, pid, uid, int(s.mainPID.Load()), s.uid) {
			s.ping.Store(max(int64(s.now().Sub(s.base)), 1))
			return nil, fds, errPinged
		}
		return &Delivery{Token: s.token, PID: pid, UID: uid, Msg: sdnotify.Message{Watchdog: true}}, fds, nil
	}
	d := &Delivery{Token: s.token, PID: pid, UID: uid}
	if d.Msg, err = sdnotify.Parse(b.data[:n]); err != nil {
		d.Err = fmt.Errorf("dropped a notification: %w", err)
	}
	return d, fds, nil
}

// errNoCredentials is a datagram the kernel attached no credentials to.
var errNoCredentials = errors.New("no sender credentials")

// controlData returns the descriptors in the control data (to be
// closed) and the sender's credentials. It allocates only for
// descriptors.
func controlData(oob []byte) ([]int, unix.Ucred, error) {
	var (
		fds   []int
		cred  unix.Ucred
		found bool
	)
	for len(oob) > 0 {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			return fds, cred, fmt.Errorf("bad control data: %w", err)
		}
		oob = rest
		if h.Level != unix.SOL_SOCKET {
			continue
		}
		switch h.Type {
		case unix.SCM_RIGHTS:
			for len(data) >= 4 {
				fds = append(fds, int(int32(binary.NativeEndian.Uint32(data))))
				data = data[4:]
			}
		case unix.SCM_CREDENTIALS:
			if len(data) >= unix.SizeofUcred && !found {
				found = true
				cred = unix.Ucred{
					Pid: int32(binary.NativeEndian.Uint32(data[0:])),
					Uid: binary.NativeEndian.Uint32(data[4:]),
					Gid: binary.NativeEndian.Uint32(data[8:]),
				}
			}
		}
	}
	if !found {
		return fds, cred, errNoCredentials
	}
	return fds, cred, nil
}
