package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Message
		wantErr error
	}{
		{name: "ready", in: "READY=1", want: Message{Ready: true}},
		{name: "ready and status", in: "READY=1\nSTATUS=up and serving", want: Message{Ready: true, Status: "up and serving", HasStatus: true}},
		{name: "trailing newline", in: "WATCHDOG=1\n", want: Message{Watchdog: true}},
		{name: "first assignment wins", in: "STATUS=a\nSTATUS=b", want: Message{Status: "a", HasStatus: true}},
		{name: "empty status clears", in: "STATUS=", want: Message{HasStatus: true}},
		{name: "unknown and private keys", in: "X_FOO=1\nFOO\nREADY=1", want: Message{Ready: true}},
		{name: "READY=0 means nothing", in: "READY=0", want: Message{Ignored: 1}},
		{name: "trigger", in: "WATCHDOG=trigger", want: Message{WatchdogTrigger: true}},
		{name: "watchdog usec", in: "WATCHDOG_USEC=2500000", want: Message{WatchdogUSec: 2500 * time.Millisecond, HasWatchdogUSec: true}},
		{name: "watchdog off", in: "WATCHDOG_USEC=0", want: Message{HasWatchdogUSec: true}},
		{name: "extend", in: "EXTEND_TIMEOUT_USEC=10000000", want: Message{ExtendTimeout: 10 * time.Second}},
		{name: "reloading", in: "RELOADING=1\nMONOTONIC_USEC=123", want: Message{Reloading: true, Monotonic: 123 * time.Microsecond}},
		{name: "stopping", in: "STOPPING=1", want: Message{Stopping: true}},
		{name: "mainpid", in: "MAINPID=4242", want: Message{MainPID: 4242}},
		{name: "bad mainpid", in: "MAINPID=-3\nMAINPID=12", want: Message{Ignored: 1}},
		{name: "errno", in: "ERRNO=2", want: Message{Errno: 2}},
		{name: "barrier", in: "BARRIER=1", want: Message{Barrier: true}},
		{name: "bad numbers", in: "WATCHDOG_USEC=x\nEXTEND_TIMEOUT_USEC=-1\nERRNO=e", want: Message{Ignored: 3}},
		{name: "huge usec", in: "WATCHDOG_USEC=99999999999999999999", want: Message{Ignored: 1}},
		{name: "status not utf-8", in: "STATUS=\xff\xfe", want: Message{Ignored: 1}},
		{name: "status with U+FFFD", in: "STATUS=\uFFFD", want: Message{Status: "\uFFFD", HasStatus: true}},
		{name: "empty", in: "", want: Message{}},
		{name: "nul", in: "READY=1\x00", wantErr: ErrNUL},
		{name: "exactly the limit", in: "STATUS=" + strings.Repeat("x", MaxDatagram-7), want: Message{Status: strings.Repeat("x", MaxDatagram-7), HasStatus: true}},
		{name: "too long", in: "STATUS=" + strings.Repeat("x", MaxDatagram), wantErr: ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse error %v, want %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAddr(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "/run/systemd/notify", want: "/run/systemd/notify"},
		{in: "@abstract/name", want: "@abstract/name"},
		{in: "", wantErr: true},
		{in: "@", wantErr: true},
		{in: "relative/path", wantErr: true},
		{in: "vsock:2:1234", wantErr: true},
		{in: "/" + strings.Repeat("a", 106), want: "/" + strings.Repeat("a", 106)},
		{in: "/" + strings.Repeat("a", 107), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Addr(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Addr(%q) error %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err == nil && got.Name != tt.want {
				t.Fatalf("Addr(%q) = %q, want %q", tt.in, got.Name, tt.want)
			}
		})
	}
}

func TestWatchdogInterval(t *testing.T) {
	const pid = 4242
	tests := []struct {
		usec, pidv string
		want       time.Duration
		wantErr    bool
	}{
		{usec: "", want: 0},
		{usec: "30000000", want: 30 * time.Second},
		{usec: "30000000", pidv: "4242", want: 30 * time.Second},
		{usec: "30000000", pidv: "1", want: 0},
		{usec: "0", wantErr: true},
		{usec: "abc", wantErr: true},
		{usec: "1000", pidv: "x", wantErr: true},
		{usec: "1000", pidv: "-5", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.usec+"/"+tt.pidv, func(t *testing.T) {
			got, err := WatchdogInterval(tt.usec, tt.pidv, pid)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// receiver binds a datagram socket with SO_PASSCRED at addr.
func receiver(t *testing.T, addr string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	return c
}

// receive reads one datagram and the sender's pid.
func receive(t *testing.T, c *net.UnixConn) (string, int) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, MaxDatagram)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	n, oobn, _, _, err := c.ReadMsgUnix(b, oob)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control messages %v, %v", msgs, err)
	}
	cred, err := unix.ParseUnixCredentials(&msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(b[:n]), int(cred.Pid)
}

func TestClientSends(t *testing.T) {
	for _, addr := range []string{
		filepath.Join(t.TempDir(), "notify"),
		fmt.Sprintf("@gosupervisor-sdnotify-test/%d/%d", os.Getpid(), time.Now().UnixNano()),
	} {
		t.Run(addr[:1], func(t *testing.T) {
			r := receiver(t, addr)
			c, err := NewClient(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for _, msg := range []string{Ready, "STATUS=RUNNING 3", Watchdog} {
				if err := c.Send(msg); err != nil {
					t.Fatal(err)
				}
				got, pid := receive(t, r)
				if got != msg || pid != os.Getpid() {
					t.Fatalf("received %q from pid %d, want %q from %d", got, pid, msg, os.Getpid())
				}
			}
			if err := c.Send(strings.Repeat("x", MaxDatagram+1)); err == nil {
				t.Fatal("an oversized message was sent")
			}
		})
	}
}

func TestClientAbsent(t *testing.T) {
	c, err := NewClient("")
	if c != nil || err != nil {
		t.Fatalf("NewClient(\"\") = %v, %v; want nil, nil", c, err)
	}
	if _, err := NewClient("vsock:1:2"); err == nil {
		t.Fatal("vsock address accepted")
	}
}

// A receiver that does not read must not make Send wait: the engine
// loop sends its own keep-alives and must never block on systemd.
func TestClientNeverWaits(t *testing.T) {
	addr := filepath.Join(t.TempDir(), "full")
	receiver(t, addr)
	c, err := NewClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	var sendErr error
	for i := 0; i < 100000 && sendErr == nil; i++ {
		sendErr = c.Send(Watchdog)
	}
	if !errors.Is(sendErr, unix.EAGAIN) {
		t.Fatalf("filling the queue ended with %v, want EAGAIN", sendErr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("filling the queue took %v", d)
	}
}
