// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3), https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html):
// datagrams of newline-separated KEY=VALUE assignments sent to the
// AF_UNIX socket named by $NOTIFY_SOCKET.
//
// It has both ends' pieces and no state of its own: [Addr] reads a
// $NOTIFY_SOCKET value, [Client] sends as a service does (supervisord
// under systemd), [Parse] reads a datagram as a service manager does
// (supervisord receiving from its programs), and [WatchdogInterval]
// applies libsystemd's rule for $WATCHDOG_USEC and $WATCHDOG_PID.
package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// The environment variables of the protocol.
const (
	// EnvSocket names the socket to send notifications to.
	EnvSocket = "NOTIFY_SOCKET"
	// EnvWatchdogUSec is the watchdog limit in microseconds.
	EnvWatchdogUSec = "WATCHDOG_USEC"
	// EnvWatchdogPID is the pid the watchdog is meant for.
	EnvWatchdogPID = "WATCHDOG_PID"
)

// Common whole messages.
const (
	Ready           = "READY=1"
	Reloading       = "RELOADING=1"
	Stopping        = "STOPPING=1"
	Watchdog        = "WATCHDOG=1"
	WatchdogTrigger = "WATCHDOG=trigger"
)

// MaxDatagram is the longest datagram a receiver accepts (systemd's
// NOTIFY_BUFFER_MAX); a longer one is dropped whole.
const MaxDatagram = 4096

// Addr turns a $NOTIFY_SOCKET value into a datagram address: an absolute
// path, or "@name" for a Linux abstract socket. Other forms (a relative
// path, systemd's vsock:CID:PORT) are refused with an error naming the
// value.
func Addr(v string) (*net.UnixAddr, error) {
	switch {
	case v == "":
		return nil, errors.New("sdnotify: empty socket address")
	case len(v) > 107:
		// sun_path holds 108 bytes with the terminating NUL (or the
		// abstract name's leading one).
		return nil, fmt.Errorf("sdnotify: socket address %q is longer than 107 bytes", v)
	case v[0] == '/' || (v[0] == '@' && len(v) > 1):
		return &net.UnixAddr{Name: v, Net: "unixgram"}, nil
	}
	return nil, fmt.Errorf("sdnotify: unsupported socket address %q (want an absolute path or @abstract)", v)
}

// Client sends notifications to one socket. Each Send is one sendto on
// an unconnected socket, as libsystemd does, so a service manager that
// re-creates its socket (systemd after daemon-reexec) is still reached.
// Send never waits: when the receiver's queue is full it fails with
// EAGAIN. Safe for concurrent use.
type Client struct {
	addr *net.UnixAddr
	sock *os.File // an unbound datagram socket
}

// NewClient makes a client for the $NOTIFY_SOCKET value v. It returns
// (nil, nil) when v is empty: not running under a service manager is not
// an error.
func NewClient(v string) (*Client, error) {
	if v == "" {
		return nil, nil
	}
	addr, err := Addr(v)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("sdnotify: socket for %s: %w", v, err)
	}
	return &Client{addr: addr, sock: os.NewFile(uintptr(fd), "sdnotify")}, nil
}

// Addr is the address the client sends to, as given.
func (c *Client) Addr() string { return c.addr.Name }

// Send sends one datagram holding state (e.g. "READY=1\nSTATUS=up").
// The kernel attaches the sender's pid, uid and gid.
func (c *Client) Send(state string) error {
	if len(state) > MaxDatagram {
		return fmt.Errorf("sdnotify: message of %d bytes is longer than %d", len(state), MaxDatagram)
	}
	raw, err := c.sock.SyscallConn()
	if err != nil {
		return fmt.Errorf("sdnotify: send to %s: %w", c.addr.Name, err)
	}
	sa := &unix.SockaddrUnix{Name: c.addr.Name}
	var serr error
	// One attempt: the callback returns true whatever happened, so a full
	// queue is EAGAIN now, not a wait on the poller.
	if err := raw.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), []byte(state), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, sa)
		return true
	}); err != nil {
		serr = err
	}
	if serr != nil {
		return fmt.Errorf("sdnotify: send to %s: %w", c.addr.Name, serr)
	}
	return nil
}

// Close releases the client's socket.
func (c *Client) Close() error { return c.sock.Close() }

// WatchdogInterval applies libsystemd's sd_watchdog_enabled rule to the
// values of $WATCHDOG_USEC (usec) and $WATCHDOG_PID (pidv) for the
// process pid: the watchdog limit when it is meant for pid, 0 when there
// is none (usec empty, or pidv names another process), and an error when
// a value is malformed. An absent $WATCHDOG_PID means "for whoever reads
// it". Keep-alives are due at half the limit.
func WatchdogInterval(usec, pidv string, pid int) (time.Duration, error) {
	if usec == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(usec, 10, 64)
	if err != nil || n == 0 || n > uint64(1<<63-1)/1000 {
		return 0, fmt.Errorf("sdnotify: bad %s value %q", EnvWatchdogUSec, usec)
	}
	if pidv != "" {
		p, err := strconv.Atoi(pidv)
		if err != nil || p <= 0 {
			return 0, fmt.Errorf("sdnotify: bad %s value %q", EnvWatchdogPID, pidv)
		}
		if p != pid {
			return 0, nil
		}
	}
	return time.Duration(n) * time.Microsecond, nil
}

// Message is what one datagram says, as a service manager reads it.
// For each key the first assignment counts; unknown keys, and known
// ones with a value that does not parse, are ignored (Ignored counts
// the latter).
type Message struct {
	Ready     bool // READY=1
	Reloading bool // RELOADING=1
	Stopping  bool // STOPPING=1
	// Watchdog is WATCHDOG=1 (a keep-alive), WatchdogTrigger
	// WATCHDOG=trigger (act as if the limit had passed).
	Watchdog        bool
	WatchdogTrigger bool
	// Status is STATUS=; HasStatus tells an empty one (which clears the
	// text) from none. Values that are not UTF-8 are ignored.
	Status    string
	HasStatus bool
	// Errno is ERRNO= (0 = none given).
	Errno int
	// MainPID is MAINPID= (0 = none given).
	MainPID int
	// WatchdogUSec is WATCHDOG_USEC= (the new limit; 0 turns the
	// watchdog off); HasWatchdogUSec tells 0 from none given.
	WatchdogUSec    time.Duration
	HasWatchdogUSec bool
	// ExtendTimeout is EXTEND_TIMEOUT_USEC= (0 = none given).
	ExtendTimeout time.Duration
	// Monotonic is MONOTONIC_USEC= (0 = none given).
	Monotonic time.Duration
	// Barrier is BARRIER=1: the sender waits for the descriptor it
	// passed to be closed.
	Barrier bool
	// Ignored counts known keys whose value was not understood.
	Ignored int
}

// ErrNUL is a datagram with an embedded NUL byte, which receivers drop.
var ErrNUL = errors.New("sdnotify: message contains a NUL byte")

// ErrTooLong is a datagram longer than MaxDatagram.
var ErrTooLong = fmt.Errorf("sdnotify: message longer than %d bytes", MaxDatagram)

// Parse reads one datagram. It fails only for what makes systemd drop a
// datagram whole (a NUL byte, more than MaxDatagram bytes).
func Parse(b []byte) (Message, error) {
	var m Message
	if len(b) > MaxDatagram {
		return m, ErrTooLong
	}
	s := string(b)
	if strings.IndexByte(s, 0) >= 0 {
		return m, ErrNUL
	}
	seen := map[string]bool{}
	for line := range strings.SplitSeq(s, "\n") {
		key, val, ok := strings.Cut(line, "=")
		if !ok || seen[key] {
			continue
		}
		seen[key] = true
		if !m.assign(key, val) {
			m.Ignored++
		}
	}
	return m, nil
}

// assign applies one known KEY=VALUE; it reports false for a known key
// whose value it cannot use (unknown keys are fine).
func (m *Message) assign(key, val string) bool {
	switch key {
	case "READY":
		return flag(val, &m.Ready)
	case "RELOADING":
		return flag(val, &m.Reloading)
	case "STOPPING":
		return flag(val, &m.Stopping)
	case "BARRIER":
		return flag(val, &m.Barrier)
	case "WATCHDOG":
		if val == "trigger" {
			m.WatchdogTrigger = true
			return true
		}
		return flag(val, &m.Watchdog)
	case "STATUS":
		if !utf8.ValidString(val) {
			return false
		}
		m.Status, m.HasStatus = val, true
	case "ERRNO":
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return false
		}
		m.Errno = n
	case "MAINPID":
		n, err := strconv.Atoi(val)
		if err != nil || n <= 0 {
			return false
		}
		m.MainPID = n
	case "WATCHDOG_USEC":
		d, ok := usec(val)
		if !ok {
			return false
		}
		m.WatchdogUSec, m.HasWatchdogUSec = d, true
	case "EXTEND_TIMEOUT_USEC":
		d, ok := usec(val)
		if !ok {
			return false
		}
		m.ExtendTimeout = d
	case "MONOTONIC_USEC":
		d, ok := usec(val)
		if !ok {
			return false
		}
		m.Monotonic = d
	}
	return true
}

// flag reads a "1" flag; other values are not understood ("READY=0" has
// no defined meaning).
func flag(val string, dst *bool) bool {
	if val != "1" {
		return false
	}
	*dst = true
	return true
}

// usec reads a microsecond count that fits a time.Duration.
func usec(val string) (time.Duration, bool) {
	n, err := strconv.ParseUint(val, 10, 64)
	if err != nil || n > uint64(1<<63-1)/1000 {
		return 0, false
	}
	return time.Duration(n) * time.Microsecond, true
}
