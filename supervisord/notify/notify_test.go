package notify

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/config"
	"gosupervisor/internal/sdnotify"
	"gosupervisor/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestPermits(t *testing.T) {
	const main, prog = 100, 1000
	tests := []struct {
		access   config.NotifyAccess
		pid, uid int
		mainPID  int
		want     bool
	}{
		{config.NotifyNone, main, prog, main, false},
		{config.NotifyMain, main, prog, main, true},
		{config.NotifyMain, 101, prog, main, false},
		{config.NotifyMain, 101, 0, main, false},  // root, but not the main pid
		{config.NotifyMain, main, prog, 0, false}, // main pid not known yet
		{config.NotifyExec, main, prog, main, true},
		{config.NotifyExec, 101, prog, main, false},
		{config.NotifyAll, 101, prog, main, true},
		{config.NotifyAll, 101, 0, main, true},
		{config.NotifyAll, 101, 1001, main, false},
	}
	for _, tt := range tests {
		if got := Permits(tt.access, tt.pid, tt.uid, tt.mainPID, prog); got != tt.want {
			t.Errorf("Permits(%v, pid %d, uid %d, main %d) = %v, want %v", tt.access, tt.pid, tt.uid, tt.mainPID, got, tt.want)
		}
	}
}

// listen makes a socket in a fresh private directory under the test's
// temp dir; the directory and socket go away at cleanup.
func listen(t *testing.T, access config.NotifyAccess) (*Socket, chan Delivery) {
	t.Helper()
	d := NewDir("", t.TempDir(), os.Getpid())
	out := make(chan Delivery)
	s, err := d.Listen(Options{Group: "g", Name: "p", UID: -1, GID: -1, Access: access, Out: out, Token: "tok", Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if err := d.Close(); err != nil {
			t.Errorf("Dir.Close: %v", err)
		}
	})
	return s, out
}

// send sends one datagram to addr, with fds attached.
func send(t *testing.T, addr, msg string, fds ...int) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if err := unix.Sendmsg(fd, []byte(msg), oob, &unix.SockaddrUnix{Name: addr}, 0); err != nil {
		t.Fatal(err)
	}
}

func next(t *testing.T, out chan Delivery) Delivery {
	t.Helper()
	select {
	case d := <-out:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery within 5 s")
	}
	panic("unreachable")
}

func noDelivery(t *testing.T, out chan Delivery, within time.Duration) {
	t.Helper()
	select {
	case d := <-out:
		t.Fatalf("unexpected delivery %+v", d)
	case <-time.After(within):
	}
}

func TestSocketFile(t *testing.T) {
	s, _ := listen(t, config.NotifyMain)
	addr := s.Addr()
	if !strings.HasPrefix(addr, "/") || filepath.Base(addr) != "g.p.1" {
		t.Fatalf("address %q, want <dir>/g.p.1", addr)
	}
	st, err := os.Lstat(addr)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Type() != os.ModeSocket || st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", st.Mode())
	}
	dst, err := os.Stat(filepath.Dir(addr))
	if err != nil {
		t.Fatal(err)
	}
	if dst.Mode().Perm() != 0o711 {
		t.Errorf("private dir mode %v, want 0711", dst.Mode().Perm())
	}
	s.Close()
	if _, err := os.Lstat(addr); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after Close: %v", err)
	}
}

func TestDeliveries(t *testing.T) {
	s, out := listen(t, config.NotifyMain)
	me := os.Getpid()

	send(t, s.Addr(), "READY=1\nSTATUS=warming up")
	d := next(t, out)
	if d.Token != "tok" || d.PID != me || d.UID != os.Getuid() || d.Err != nil ||
		!d.Msg.Ready || d.Msg.Status != "warming up" {
		t.Fatalf("delivery %+v", d)
	}

	// A keep-alive before the main pid is known goes to the engine...
	send(t, s.Addr(), sdnotify.Watchdog)
	if d := next(t, out); !d.Msg.Watchdog || d.PID != me {
		t.Fatalf("keep-alive delivery %+v", d)
	}
	if !s.LastPing().IsZero() {
		t.Fatal("LastPing moved for a keep-alive the engine handles")
	}
	// ...and once it is, the socket's goroutine takes it.
	s.SetMainPID(me)
	before := time.Now()
	send(t, s.Addr(), sdnotify.Watchdog)
	testenv.Eventually(t, 5*time.Second, func() error {
		if s.LastPing().Before(before) {
			return errors.New("LastPing did not move")
		}
		return nil
	})
	noDelivery(t, out, 50*time.Millisecond)
	// A keep-alive with anything else in it still goes to the engine.
	send(t, s.Addr(), "WATCHDOG=1\nSTATUS=x")
	if d := next(t, out); !d.Msg.Watchdog || d.Msg.Status != "x" {
		t.Fatalf("delivery %+v", d)
	}
	// Under notify_access=main a keep-alive from another pid is the
	// engine's to refuse.
	s.SetMainPID(1)
	send(t, s.Addr(), sdnotify.Watchdog)
	if d := next(t, out); d.PID != me {
		t.Fatalf("delivery %+v", d)
	}
}

// One report per socket for dropped datagrams, whatever their number and
// kind; good datagrams after them still arrive.
func TestBadDatagrams(t *testing.T) {
	s, out := listen(t, config.NotifyMain)
	send(t, s.Addr(), strings.Repeat("x", sdnotify.MaxDatagram+1))
	send(t, s.Addr(), "READY=1\x00")
	send(t, s.Addr(), "") // empty: ignored quietly
	send(t, s.Addr(), strings.Repeat("y", 70000))
	send(t, s.Addr(), "STATUS=fine")
	d := next(t, out)
	if d.Err == nil || !strings.Contains(d.Err.Error(), "longer than 4096 bytes") {
		t.Fatalf("first delivery %+v, want the overlong datagram's error", d)
	}
	if d := next(t, out); d.Err != nil || d.Msg.Status != "fine" {
		t.Fatalf("second delivery %+v, want STATUS=fine", d)
	}
}

func TestNoCredentials(t *testing.T) {
	fds, _, err := controlData(nil)
	if !errors.Is(err, errNoCredentials) || len(fds) != 0 {
		t.Fatalf("controlData(nil) = %v, %v", fds, err)
	}
	// Descriptors are returned for closing even without credentials.
	fds, _, err = controlData(unix.UnixRights(7, 8))
	if !errors.Is(err, errNoCredentials) || len(fds) != 2 || fds[0] != 7 || fds[1] != 8 {
		t.Fatalf("controlData(rights) = %v, %v", fds, err)
	}
	// Credentials and descriptors together, in either order.
	ucred := &unix.Ucred{Pid: 42, Uid: 1000, Gid: 1001}
	for _, oob := range [][]byte{
		append(unix.UnixCredentials(ucred), unix.UnixRights(9)...),
		append(unix.UnixRights(9), unix.UnixCredentials(ucred)...),
	} {
		fds, cred, err := controlData(oob)
		if err != nil || cred != *ucred || len(fds) != 1 || fds[0] != 9 {
			t.Fatalf("controlData = %v, %+v, %v", fds, cred, err)
		}
	}
	if _, _, err := controlData([]byte{1, 2, 3}); err == nil {
		t.Fatal("truncated control data accepted")
	}
}

// BARRIER=1 (systemd-notify, sd_notify_barrier) passes a pipe's write end
// and waits for its read end to see the hang-up: that must happen once
// the engine has taken everything sent before it, and not before.
func TestBarrierClosesAfterHandOver(t *testing.T) {
	s, out := listen(t, config.NotifyAll)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	send(t, s.Addr(), "READY=1")
	send(t, s.Addr(), "BARRIER=1", p[1])
	unix.Close(p[1])
	hungUp := func(ms int) bool {
		fds := []unix.PollFd{{Fd: int32(p[0])}}
		n, _ := unix.Poll(fds, ms)
		return n == 1 && fds[0].Revents&unix.POLLHUP != 0
	}
	if hungUp(100) {
		t.Fatal("the barrier's descriptor was closed before the engine took READY=1")
	}
	if d := next(t, out); !d.Msg.Ready {
		t.Fatalf("delivery %+v", d)
	}
	if d := next(t, out); !d.Msg.Barrier {
		t.Fatalf("delivery %+v", d)
	}
	if !hungUp(5000) {
		t.Fatal("the barrier's descriptor was not closed")
	}
}

// Descriptors a refused or malformed datagram carries are closed too,
// and a socket's descriptors all go at Close.
func TestNoDescriptorLeak(t *testing.T) {
	before := openFDs(t)
	d := NewDir("", t.TempDir(), os.Getpid())
	out := make(chan Delivery, 100)
	for range 50 {
		s, err := d.Listen(Options{Group: "g", Name: "p", UID: -1, GID: -1, Access: config.NotifyNone, Out: out, Now: time.Now})
		if err != nil {
			t.Fatal(err)
		}
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		send(t, s.Addr(), "FDSTORE=1", p[0], p[1])
		send(t, s.Addr(), "bad\x00", p[0])
		unix.Close(p[0])
		unix.Close(p[1])
		next(t, out)
		next(t, out)
		s.Close()
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if after := openFDs(t); after != before {
			return errors.New("descriptors leaked")
		}
		return nil
	})
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// Close returns even while the goroutine waits for the engine to take a
// delivery.
func TestCloseWhileBlocked(t *testing.T) {
	d := NewDir("", t.TempDir(), os.Getpid())
	defer d.Close()
	s, err := d.Listen(Options{Group: "g", Name: "p", UID: -1, GID: -1, Access: config.NotifyMain, Out: make(chan Delivery), Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	send(t, s.Addr(), "READY=1")
	send(t, s.Addr(), "STATUS=2")
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung")
	}
}

// A flooding program fills its own socket's queue: beyond the limit per
// second the goroutine stops reading until the second is over. The
// socket's clock stands still, so however long the first deliveries take
// on a loaded machine they all fall in one second, and only the pause
// (a real timer of the rest of that second, all of it) separates the
// last of them from the next.
func TestDeliveryLimit(t *testing.T) {
	frozen := time.Now()
	d := NewDir("", t.TempDir(), os.Getpid())
	out := make(chan Delivery)
	s, err := d.Listen(Options{Group: "g", Name: "p", UID: -1, GID: -1, Access: config.NotifyAll, Out: out, Token: "tok",
		Now: func() time.Time { return frozen }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if err := d.Close(); err != nil {
			t.Errorf("Dir.Close: %v", err)
		}
	})
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	sa := &unix.SockaddrUnix{Name: s.Addr()}
	// The kernel queues few datagrams per socket (net.unix.max_dgram_qlen,
	// 10 here): keep sending as the queue drains.
	stop := make(chan struct{})
	sent := make(chan struct{})
	defer func() { close(stop); <-sent }()
	go func() {
		defer close(sent)
		for n := 0; n < deliveryLimit+50; {
			switch err := unix.Sendto(fd, []byte("STATUS=flood"), 0, sa); {
			case err == nil:
				n++
			case errors.Is(err, unix.EAGAIN):
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			default:
				return
			}
		}
	}()
	// asked[i] is when the test began to wait for delivery i (from 0). A
	// pause before delivery i starts once delivery i-1 was taken, after
	// asked[i-1], and lasts the whole second; delivery i arrived before
	// asked[i+1].
	asked := make([]time.Time, 0, deliveryLimit+2)
	for range deliveryLimit + 1 {
		asked = append(asked, time.Now())
		next(t, out)
	}
	asked = append(asked, time.Now())
	for i := 1; i < deliveryLimit; i++ {
		if gap := asked[i+1].Sub(asked[i-1]); gap >= time.Second {
			t.Fatalf("delivery %d came %v after the test asked for the one before: a pause within the limit", i+1, gap)
		}
	}
	if gap := asked[deliveryLimit+1].Sub(asked[deliveryLimit-1]); gap < time.Second {
		t.Fatalf("delivery %d came %v after the test asked for the one before, want a pause of the second", deliveryLimit+1, gap)
	}
}

func TestAbstractWhenPathTooLong(t *testing.T) {
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 90))
	d := NewDir(long, "", 4242)
	defer d.Close()
	out := make(chan Delivery, 1)
	s, err := d.Listen(Options{Group: "web", Name: "web_00", UID: -1, GID: -1, Access: config.NotifyMain, Out: out, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := s.Addr(), "@gosupervisor/4242/web.web_00/1"; got != want {
		t.Fatalf("address %q, want %q", got, want)
	}
	send(t, s.Addr(), "READY=1")
	if d := next(t, out); !d.Msg.Ready {
		t.Fatalf("delivery %+v", d)
	}
	// Very long names are shortened with a hash.
	if a := d.address(strings.Repeat("g", 100), "p", 2); len(a) > maxPath || !strings.HasPrefix(a, "@gosupervisor/4242/") {
		t.Fatalf("address %q", a)
	}
	// Characters other than letters, digits, '-' and '_' are replaced.
	d2 := NewDir(t.TempDir(), "", 1)
	d2.path = d2.configured
	if a := d2.address("a.b", "c d", 3); filepath.Base(a) != "a_b.c_d.3" {
		t.Fatalf("address %q", a)
	}
}

func TestConfiguredDir(t *testing.T) {
	base := t.TempDir()
	out := make(chan Delivery, 1)
	opts := Options{Group: "g", Name: "p", UID: -1, GID: -1, Out: out, Now: time.Now}

	// Made when missing, with 0711; kept at Close.
	dir := filepath.Join(base, "made")
	d := NewDir(dir, "", 1)
	s, err := d.Listen(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	d.Close()
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o711 {
		t.Fatalf("notify_dir after Close: %v %v", st, err)
	}

	// A socket file a dead daemon left at the name is replaced.
	d = NewDir(dir, "", 1)
	stalePath := filepath.Join(dir, "g.p.1")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: stalePath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	// While someone is bound to it, it is not.
	if _, err := d.Listen(opts); err == nil {
		t.Fatal("Listen took over a live socket")
	}
	ln.Close() // leaves the file behind
	d = NewDir(dir, "", 1)
	s, err = d.Listen(opts)
	if err != nil {
		t.Fatalf("stale socket file not replaced: %v", err)
	}
	s.Close()

	// Directories others can write, and links, are refused.
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{open, link} {
		if _, err := NewDir(bad, "", 1).Listen(opts); err == nil {
			t.Errorf("notify_dir %s accepted", bad)
		}
	}
}

// Drain hands over, in order, what was received and not yet taken (the
// delivery the goroutine holds and what is still queued), so a program's
// last words before exiting count.
func TestDrain(t *testing.T) {
	s, out := listen(t, config.NotifyMain)
	s.SetMainPID(os.Getpid())
	send(t, s.Addr(), "STATUS=one")
	send(t, s.Addr(), sdnotify.Watchdog) // taken by the socket itself
	send(t, s.Addr(), "READY=1")
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	send(t, s.Addr(), "BARRIER=1", p[1])
	unix.Close(p[1])
	got := s.Drain()
	if len(got) != 3 || got[0].Msg.Status != "one" || !got[1].Msg.Ready || !got[2].Msg.Barrier {
		t.Fatalf("Drain = %+v", got)
	}
	if s.LastPing().IsZero() {
		t.Error("the keep-alive was not taken")
	}
	fds := []unix.PollFd{{Fd: int32(p[0])}}
	if n, _ := unix.Poll(fds, 5000); n != 1 || fds[0].Revents&unix.POLLHUP == 0 {
		t.Error("the barrier's descriptor is still open after Drain")
	}
	send(t, s.Addr(), "STATUS=late")
	noDelivery(t, out, 50*time.Millisecond)
	if again := s.Drain(); len(again) != 0 {
		t.Fatalf("second Drain = %+v", again)
	}
}

// After a keep-alive the socket rests on the beat: later keep-alives are
// still taken, and other messages still arrive, within a beat.
func TestRestingSocket(t *testing.T) {
	s, out := listen(t, config.NotifyMain)
	s.SetMainPID(os.Getpid())
	send(t, s.Addr(), sdnotify.Watchdog)
	testenv.Eventually(t, 5*time.Second, func() error {
		if s.LastPing().IsZero() {
			return errors.New("no keep-alive taken")
		}
		return nil
	})
	for range 3 {
		before := s.LastPing()
		send(t, s.Addr(), sdnotify.Watchdog)
		testenv.Eventually(t, 5*time.Second, func() error {
			if !s.LastPing().After(before) {
				return errors.New("keep-alive not taken while resting")
			}
			return nil
		})
	}
	start := time.Now()
	send(t, s.Addr(), "STATUS=still here")
	if d := next(t, out); d.Msg.Status != "still here" {
		t.Fatalf("delivery %+v", d)
	}
	if took := time.Since(start); took > restBeat+time.Second {
		t.Errorf("a message took %v to arrive while resting (beat %v)", took, restBeat)
	}
	// Drain works on a resting socket too.
	send(t, s.Addr(), sdnotify.Watchdog)
	send(t, s.Addr(), "READY=1")
	got := s.Drain()
	if len(got) != 1 || !got[0].Msg.Ready {
		t.Fatalf("Drain = %+v", got)
	}
}
