package testenv

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Notification is one datagram a supervisord sent to its service
// manager, with the sender's pid from its credentials and when it came.
type Notification struct {
	Text string
	PID  int
	At   time.Time
}

// ServiceManager plays systemd's side of NOTIFY_SOCKET for a test: a
// datagram socket with SO_PASSCRED that records every notification and
// the pid that sent it.
type ServiceManager struct {
	mu  sync.Mutex
	got []Notification
}

// ListenServiceManager binds a notification socket at addr (a path, or
// an abstract name starting with "@") and records what arrives until
// the test ends.
func ListenServiceManager(t testing.TB, addr string) *ServiceManager {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) }); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	m := &ServiceManager{}
	done := make(chan struct{})
	go m.read(conn, done)
	t.Cleanup(func() { conn.Close(); <-done })
	return m
}

func (m *ServiceManager) read(conn *net.UnixConn, done chan<- struct{}) {
	defer close(done)
	b := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(b, oob)
		if err != nil {
			return
		}
		pid := 0
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) == 1 {
			if c, err := unix.ParseUnixCredentials(&msgs[0]); err == nil {
				pid = int(c.Pid)
			}
		}
		m.mu.Lock()
		m.got = append(m.got, Notification{string(b[:n]), pid, time.Now()})
		m.mu.Unlock()
	}
}

// Received returns a copy of the notifications so far, in arrival order.
func (m *ServiceManager) Received() []Notification {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Notification(nil), m.got...)
}

// WaitFor polls until a notification at index from or later holds text
// and returns its index; the test fails after timeout.
func (m *ServiceManager) WaitFor(t testing.TB, from int, text string, timeout time.Duration) int {
	t.Helper()
	idx := -1
	Eventually(t, timeout, func() error {
		for i, n := range m.Received() {
			if i >= from && strings.Contains(n.Text, text) {
				idx = i
				return nil
			}
		}
		return fmt.Errorf("no %q after notification %d; got %+v", text, from, m.Received())
	})
	return idx
}
