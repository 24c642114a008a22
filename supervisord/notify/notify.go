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
}

// NewDir describes the socket directory of the daemon with pid daemonPID:
// configured is notify_dir ("" for a private directory made under tmp).
// Nothing is created yet.
func NewDir(configured, tmp string, daemonPID int) *Dir {
	d := &Dir{configured: configured, tmp: tmp, daemonPID: daemonPID}
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
	conn   *net.UnixConn
	access config.NotifyAccess
	uid    int // the program's uid (the daemon's when it has no user=)
	out    chan<- Delivery
	token  any
	now    func() time.Time
	bufs   *sync.Pool

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
	conn, err := bind(addr)
	if err != nil {
		return nil, err
	}
	s := &Socket{
		addr: addr, conn: conn, access: o.Access, uid: o.UID,
		out: o.Out, token: o.Token, now: o.Now, bufs: &d.bufs,
		quit: make(chan struct{}), done: make(chan struct{}),
		drainc: make(chan struct{}), handoff: make(chan Delivery),
	}
	if s.uid < 0 {
		s.uid = os.Geteuid()
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
			conn.Close()
			os.Remove(addr)
			return nil, fmt.Errorf("notify socket %s: %w", addr, err)
		}
	}
	s.base = s.now()
	go s.run()
	return s, nil
}

// bind binds a datagram socket at addr with SO_PASSCRED. A socket file
// left at the name by a daemon that died is replaced; a live one is not.
func bind(addr string) (*net.UnixConn, error) {
	ua := &net.UnixAddr{Name: addr, Net: "unixgram"}
	conn, err := net.ListenUnixgram("unixgram", ua)
	if err != nil && addr[0] == '/' && errors.Is(err, syscall.EADDRINUSE) && stale(addr) {
		os.Remove(addr)
		conn, err = net.ListenUnixgram("unixgram", ua)
	}
	if err != nil {
		return nil, fmt.Errorf("notify socket %s: %w", addr, err)
	}
	raw, err := conn.SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
		})
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		conn.Close()
		if addr[0] == '/' {
			os.Remove(addr)
		}
		return nil, fmt.Errorf("notify socket %s: SO_PASSCRED: %w", addr, err)
	}
	return conn, nil
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
func (s *Socket) Close() {
	s.closeOnce.Do(func() {
		close(s.quit)
		s.conn.Close()
		<-s.done
		if s.path != "" {
			os.Remove(s.path)
		}
	})
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

// ProgramUID is the uid Permits compares with under notify_access=all.
func (s *Socket) ProgramUID() int { return s.uid }

// deliveryLimit bounds how many datagrams per second one socket hands to
// the engine; beyond it the goroutine stops reading until the second is
// over, so a flooding program fills its own socket's queue (and then
// blocks or fails in sd_notify) instead of keeping the engine busy.
const deliveryLimit = 200

// run reads datagrams until Close, or until Drain has had the rest.
func (s *Socket) run() {
	defer close(s.done)
	raw, err := s.conn.SyscallConn()
	if err != nil {
		return
	}
	reported := false
	window, count := s.now(), 0
	for {
		d, fds, err := s.receive(raw, true)
		if err != nil {
			if s.draining() {
				s.drainRest(raw, &reported)
			}
			return
		}
		if d != nil && d.Err != nil {
			if reported {
				d = nil
			}
			reported = true
		}
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
func (s *Socket) drainRest(raw syscall.RawConn, reported *bool) {
	for {
		d, fds, err := s.receive(raw, false)
		if err != nil {
			return // nothing left (or closed)
		}
		if d != nil && d.Err != nil {
			if *reported {
				d = nil
			}
			*reported = true
		}
		ok := d == nil || s.hand(*d)
		closeAll(fds)
		if !ok {
			return
		}
	}
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
	_ = s.conn.SetReadDeadline(time.Unix(1, 0))
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
// queued.
var errWouldBlock = errors.New("no datagram queued")

// receive reads one datagram, waiting for one when wait is set (else
// errWouldBlock). It returns the delivery for the engine (nil when there
// is none: a keep-alive handled here, an empty datagram) and the
// descriptors that came with it, which the caller closes; an error once
// the socket is closed (or its read deadline passed).
func (s *Socket) receive(raw syscall.RawConn, wait bool) (*Delivery, []int, error) {
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
	var err error
	if wait {
		err = raw.Read(read)
	} else {
		// Control ignores the read deadline Drain set.
		err = raw.Control(func(fd uintptr) { read(fd) })
	}
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
	d := &Delivery{Token: s.token}
	switch {
	case flags&unix.MSG_TRUNC != 0 || n > sdnotify.MaxDatagram:
		d.Err = fmt.Errorf("dropped a notification longer than %d bytes", sdnotify.MaxDatagram)
	case flags&unix.MSG_CTRUNC != 0:
		d.Err = errors.New("dropped a notification with truncated control data")
	case credErr != nil:
		d.Err = fmt.Errorf("dropped a notification: %w", credErr)
	}
	if d.Err != nil {
		return d, fds, nil
	}
	if n == 0 {
		return nil, fds, nil
	}
	d.PID, d.UID = int(cred.Pid), int(cred.Uid)
	d.Msg, err = sdnotify.Parse(b.data[:n])
	if err != nil {
		d.Err = fmt.Errorf("dropped a notification: %w", err)
		return d, fds, nil
	}
	if d.Msg == (sdnotify.Message{Watchdog: true}) &&
		Permits(s.access, d.PID, d.UID, int(s.mainPID.Load()), s.uid) {
		s.ping.Store(max(int64(s.now().Sub(s.base)), 1))
		return nil, fds, nil
	}
	return d, fds, nil
}

// errNoCredentials is a datagram the kernel attached no credentials to.
var errNoCredentials = errors.New("no sender credentials")

// controlData returns the descriptors in the control data (to be
// closed) and the sender's credentials.
func controlData(oob []byte) ([]int, *unix.Ucred, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, nil, fmt.Errorf("bad control data: %w", err)
	}
	var (
		fds  []int
		cred *unix.Ucred
	)
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Level != unix.SOL_SOCKET {
			continue
		}
		switch m.Header.Type {
		case unix.SCM_RIGHTS:
			rights, _ := unix.ParseUnixRights(m)
			fds = append(fds, rights...)
		case unix.SCM_CREDENTIALS:
			if c, err := unix.ParseUnixCredentials(m); err == nil && cred == nil {
				cred = c
			}
		}
	}
	if cred == nil {
		return fds, nil, errNoCredentials
	}
	return fds, cred, nil
}
