package logs

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/internal/testenv"
)

// rotationCase is one program of the rotation scenario: its logs rotate
// at maxBytes and keep backups files.
type rotationCase struct {
	name     string
	maxBytes int
	backups  int
	seed     int
}

var rotationCases = []rotationCase{
	{"r4k_b0", 4 << 10, 0, 1},
	{"r4k_b1", 4 << 10, 1, 2},
	{"r4k_b3", 4 << 10, 3, 3},
	{"r32k_b0", 32 << 10, 0, 4},
	{"r32k_b1", 32 << 10, 1, 5},
	{"r32k_b3", 32 << 10, 3, 6},
	{"r0_b3", 0, 3, 7}, // maxbytes=0 never rotates
}

// streamRecords makes each stream about 450 KB: long enough for every
// case to fill all its backups even when each file takes a whole pipe
// buffer past maxBytes.
const streamRecords = 1000

// TestRotationMatchesReference runs programs writing known byte streams
// into small rotating logs under both daemons and checks that each keeps
// exactly the stream's tail, with every rotated file ending within one
// read chunk past maxbytes, and that both leave the same files behind.
func TestRotationMatchesReference(t *testing.T) {
	t.Parallel()
	var programs strings.Builder
	for _, c := range rotationCases {
		programs.WriteString(program(c.name, "stream",
			fmt.Sprintf("%d %d {{here}}/done-%s", c.seed, streamRecords, c.name),
			fmt.Sprintf("stdout_logfile={{here}}/logs/%[1]s.out\nstderr_logfile={{here}}/logs/%[1]s.err\n"+
				"stdout_logfile_maxbytes=%[2]d\nstderr_logfile_maxbytes=%[2]d\n"+
				"stdout_logfile_backups=%[3]d\nstderr_logfile_backups=%[3]d",
				c.name, c.maxBytes, c.backups)))
	}
	pipeCap := pipeCapacity(t)
	var mu sync.Mutex
	files := map[string]map[string]fs.FileMode{} // implementation → log file → mode
	t.Run("group", func(t *testing.T) {
		for _, impl := range both {
			t.Run(impl.name, func(t *testing.T) {
				t.Parallel()
				s := newSide(t, impl, "loglevel=info", programs.String())
				s.start(t)
				var names []string
				for _, c := range rotationCases {
					names = append(names, c.name)
				}
				s.waitStreamsLogged(t, "logs", names...)
				if errs := s.errorRecords(t); len(errs) > 0 {
					t.Errorf("%s: errors in the main log: %q", impl.name, errs)
				}
				for _, c := range rotationCases {
					for _, ch := range []struct {
						ext  string
						seed int
					}{{"out", c.seed}, {"err", c.seed + 1000}} {
						checkRotatedLog(t, s, c, ch.ext, Stream(ch.seed, streamRecords), pipeCap)
					}
				}
				s.checkClearKeepsBackups(t, "r4k_b3")
				modes := map[string]fs.FileMode{}
				for _, name := range dirNames(t, s.path("logs")) {
					st, err := os.Stat(s.path("logs", name))
					if err != nil {
						t.Fatal(err)
					}
					modes[name] = st.Mode()
				}
				mu.Lock()
				files[impl.name] = modes
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return
	}
	if fmt.Sprint(files["ours"]) != fmt.Sprint(files["ref"]) {
		t.Errorf("log files differ:\nours: %v\nref:  %v", files["ours"], files["ref"])
	}
}

// checkClearKeepsBackups clears a program's logs (clearProcessLogs): the
// current files start empty, the rotated ones are untouched.
func (s *side) checkClearKeepsBackups(t *testing.T, name string) {
	t.Helper()
	before := map[string][]byte{}
	for _, n := range dirNames(t, s.path("logs")) {
		if strings.HasPrefix(n, name+".") {
			b, err := os.ReadFile(s.path("logs", n))
			if err != nil {
				t.Fatal(err)
			}
			before[n] = b
		}
	}
	var ok bool
	if err := s.call("supervisor.clearProcessLogs", name, &ok); err != nil || !ok {
		t.Fatalf("clearProcessLogs(%s) = %v, %v", name, ok, err)
	}
	for n, old := range before {
		b, err := os.ReadFile(s.path("logs", n))
		if err != nil {
			t.Errorf("%s: %s after clear: %v", s.impl.name, n, err)
			continue
		}
		current := n == name+".out" || n == name+".err"
		if current && len(b) != 0 {
			t.Errorf("%s: %s holds %d bytes after clear, want 0", s.impl.name, n, len(b))
		}
		if !current && !bytes.Equal(b, old) {
			t.Errorf("%s: backup %s changed by clear", s.impl.name, n)
		}
	}
}

// pipeCapacity is the most one read from a child's pipe can return.
func pipeCapacity(t *testing.T) int {
	t.Helper()
	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	n, err := unix.FcntlInt(uintptr(fds[0]), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitStreamsLogged waits until each named program has written its whole
// stream (its done file exists) and the daemon has read everything out of
// its pipes, then until the files in dir and the main log have not
// changed for a while: the daemon may still hold the last chunk it read.
func (s *side) waitStreamsLogged(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		var info procInfo
		if err := s.call("supervisor.getProcessInfo", name, &info); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 30*time.Second, func() error {
			s.checkAlive(t)
			if _, err := os.Stat(s.path("done-" + name)); err != nil {
				return fmt.Errorf("%s: %s still writing: %w", s.impl.name, name, err)
			}
			for fd := 1; fd <= 2; fd++ {
				if n, err := pipeUnread(info.PID, fd); err != nil || n > 0 {
					return fmt.Errorf("%s: %s fd %d: %d bytes unread (%v)", s.impl.name, name, fd, n, err)
				}
			}
			return nil
		})
	}
	last, since := "", time.Now()
	testenv.Eventually(t, 10*time.Second, func() error {
		if snap := s.logSnapshot(t, dir); snap != last {
			last, since = snap, time.Now()
		}
		if quiet := time.Since(since); quiet < 500*time.Millisecond {
			return fmt.Errorf("%s: logs changed %v ago", s.impl.name, quiet)
		}
		return nil
	})
}

// pipeUnread is the number of bytes waiting in the pipe that is file
// descriptor fd of process pid.
func pipeUnread(pid, fd int) (int, error) {
	f, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/%d", pid, fd), os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var ioErr error
	if err := rc.Control(func(fd uintptr) { n, ioErr = unix.IoctlGetInt(int(fd), unix.TIOCINQ) }); err != nil {
		return 0, err
	}
	return n, ioErr
}

// logSnapshot is the names and sizes of the files in dir, and the size
// of the main log.
func (s *side) logSnapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	for _, n := range dirNames(t, s.path(dir)) {
		st, err := os.Stat(s.path(dir, n))
		if err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "%s=%d ", n, st.Size())
	}
	if st, err := os.Stat(s.path("main.log")); err == nil {
		fmt.Fprintf(&b, "main.log=%d", st.Size())
	}
	return b.String()
}

// checkRotatedLog checks one channel's files: the base and exactly
// backups rotated files exist, each rotated file reached maxBytes and
// went past it by less than one read from the pipe, the base has not
// reached it, and oldest to newest they hold exactly the tail of stream.
func checkRotatedLog(t *testing.T, s *side, c rotationCase, ext string, stream []byte, pipeCap int) {
	t.Helper()
	base := c.name + "." + ext
	var want []string
	for i := c.backups; i >= 1 && c.maxBytes > 0; i-- {
		want = append(want, base+"."+strconv.Itoa(i))
	}
	want = append(want, base)
	var got []string
	for _, n := range dirNames(t, s.path("logs")) {
		if strings.HasPrefix(n, base) {
			got = append(got, n)
		}
	}
	if !slices.Equal(sortedCopy(got), sortedCopy(want)) {
		t.Errorf("%s: %s: files %q, want %q", s.impl.name, base, got, want)
		return
	}
	var all []byte
	for _, n := range want {
		b, err := os.ReadFile(s.path("logs", n))
		if err != nil {
			t.Fatal(err)
		}
		size := len(b)
		if c.maxBytes == 0 {
			if !bytes.Equal(b, stream) {
				t.Errorf("%s: %s (never rotated) holds %d bytes, not the %d of the stream", s.impl.name, n, size, len(stream))
			}
		} else if n == base {
			if size >= c.maxBytes {
				t.Errorf("%s: %s holds %d bytes, not rotated at maxbytes %d", s.impl.name, n, size, c.maxBytes)
			}
		} else if size < c.maxBytes || size >= c.maxBytes+pipeCap {
			t.Errorf("%s: rotated %s holds %d bytes, want [%d, %d)", s.impl.name, n, size, c.maxBytes, c.maxBytes+pipeCap)
		}
		all = append(all, b...)
	}
	if !bytes.HasSuffix(stream, all) {
		t.Errorf("%s: %s: the %d bytes of %q are not the tail of the %d-byte stream (first difference from the end at %d)",
			s.impl.name, base, len(all), want, len(stream), commonSuffixLen(stream, all))
	}
	if len(all) < c.backups*c.maxBytes {
		t.Errorf("%s: %s: only %d bytes kept, want at least %d", s.impl.name, base, len(all), c.backups*c.maxBytes)
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// commonSuffixLen is how many trailing bytes a and b share.
func commonSuffixLen(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return n
}
