// Package execshim sets up a child between fork and exec, which Go cannot
// do itself: the daemon starts its own executable in a hidden mode (the
// shim) instead of the program, and the shim, still the same process with
// the same pid, sets resource limits, joins cgroups, sets WATCHDOG_PID to
// its own pid, drops privileges, changes directory and umask, then
// execve()s the program. The program therefore runs under its limits from
// its first instruction, and the daemon never changes its own limits
// around a spawn nor calls prlimit on a running child.
//
// The daemon side is Start; the child side is Main, which every binary
// that may act as the shim (the daemon, and test binaries that spawn
// through Start) calls first thing in main or TestMain. Only programs that
// need the shim pay for it: one more exec of the daemon's binary.
//
// A failure in the shim before the program's execve reaches Start through
// a close-on-exec pipe, so it is a spawn error, decided synchronously, as
// os.StartProcess decides its own.
package execshim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Arg0 is the argv[0] that makes a binary act as the shim (argv[1] is the
// encoded Spec). No program is started under this name by anything else.
const Arg0 = "gosupervisor-exec-shim"

// Spec is what the shim does before it execs the program, in this order:
// set rlimits, ignore signals, set WATCHDOG_PID, join cgroups, drop
// privileges, chdir, umask, execve. Its environment (the one os.ProcAttr
// gave the shim) becomes the program's.
type Spec struct {
	// Path is the program's file, Argv its argument vector.
	Path string   `json:"path"`
	Argv []string `json:"argv"`
	// CgroupProcs are cgroup.procs files the shim writes its own pid to
	// (cgroup v1 controllers, or a v2 leaf when clone3 could not place the
	// child), as root, just before the user switch.
	CgroupProcs []string `json:"cgroup_procs,omitempty"`
	// Rlimits are set in order, as root, so hard limits may rise.
	Rlimits []Rlimit `json:"rlimits,omitempty"`
	// IgnoreSignals are set to SIG_IGN, so the program inherits them
	// ignored as a direct child of the daemon would (the shim's Go runtime
	// replaced the inherited dispositions with its own handlers).
	IgnoreSignals []syscall.Signal `json:"ignore_signals,omitempty"`
	// WatchdogPID sets WATCHDOG_PID to the shim's pid, which is the
	// program's: sd_notify's watchdog rule needs the pid before exec.
	WatchdogPID bool `json:"watchdog_pid,omitempty"`
	// Credential, when set, is applied as Supervisor does: supplementary
	// groups, then gid, then uid.
	Credential *Credential `json:"credential,omitempty"`
	// Dir is the directory to change to after the privileges are
	// dropped ("" = stay).
	Dir string `json:"dir,omitempty"`
	// Umask is set when not negative.
	Umask int `json:"umask"`
	// ErrFD is the descriptor of the error pipe (set by Start).
	ErrFD int `json:"err_fd"`
}

// Credential is the user a program runs as.
type Credential struct {
	UID    int   `json:"uid"`
	GID    int   `json:"gid"`
	Groups []int `json:"groups"`
}

// Rlimit is one resource limit to set: Resource is an RLIMIT_* number,
// Cur and Max the soft and hard values (Infinity = unlimited).
type Rlimit struct {
	Resource int    `json:"resource"`
	Cur      uint64 `json:"cur"`
	Max      uint64 `json:"max"`
}

// Infinity is RLIM_INFINITY.
const Infinity = ^uint64(0)

// Stage names the step of the shim that failed.
type Stage string

// The stages of the shim. StageLimit and StageCgroup are the shim's own
// work; the others are what a direct spawn could also fail at.
const (
	StageSetup  Stage = "setup"  // the shim could not read its spec
	StageCgroup Stage = "cgroup" // joining a cgroup
	StageLimit  Stage = "limit"  // setting an rlimit
	StageSignal Stage = "signal" // ignoring a signal
	StageUser   Stage = "user"   // setgroups, setgid, setuid
	StageChdir  Stage = "chdir"
	StageExec   Stage = "exec"
)

// Error is a failure the shim reported before the program's execve.
type Error struct {
	Stage Stage
	// Errno is the system error (0 when there was none).
	Errno syscall.Errno
	// What says what the shim tried, e.g. "can't set RLIMIT_NOFILE".
	What string
}

func (e *Error) Error() string {
	if e.Errno == 0 {
		return e.What
	}
	return e.What + ": " + e.Errno.Error()
}

// Unwrap gives the errno, so callers that word exec failures by errno
// treat a shim's exec failure as a direct spawn's.
func (e *Error) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// Setup reports whether the shim failed at work only it does (cgroups,
// rlimits): a spawn error in its own words, where the other stages are
// failures a direct spawn reports by errno.
func (e *Error) Setup() bool {
	return e.Stage == StageCgroup || e.Stage == StageLimit || e.Stage == StageSignal || e.Stage == StageSetup
}

// encode is the wire form of an Error on the pipe:
// stage NUL errno NUL what.
func (e *Error) encode() []byte {
	return []byte(string(e.Stage) + "\x00" + strconv.Itoa(int(e.Errno)) + "\x00" + e.What)
}

// decodeError reads what the shim wrote on its error pipe.
func decodeError(b []byte) *Error {
	parts := strings.SplitN(string(b), "\x00", 3)
	if len(parts) != 3 {
		return &Error{Stage: StageSetup, What: fmt.Sprintf("exec shim: unreadable report %q", b)}
	}
	n, _ := strconv.Atoi(parts[1])
	return &Error{Stage: Stage(parts[0]), Errno: syscall.Errno(n), What: parts[2]}
}

// rlimitNames are the RLIMIT_* names by number, for error texts.
var rlimitNames = map[int]string{
	unix.RLIMIT_CPU: "RLIMIT_CPU", unix.RLIMIT_FSIZE: "RLIMIT_FSIZE",
	unix.RLIMIT_DATA: "RLIMIT_DATA", unix.RLIMIT_STACK: "RLIMIT_STACK",
	unix.RLIMIT_CORE: "RLIMIT_CORE", unix.RLIMIT_RSS: "RLIMIT_RSS",
	unix.RLIMIT_NPROC: "RLIMIT_NPROC", unix.RLIMIT_NOFILE: "RLIMIT_NOFILE",
	unix.RLIMIT_MEMLOCK: "RLIMIT_MEMLOCK", unix.RLIMIT_AS: "RLIMIT_AS",
	unix.RLIMIT_LOCKS: "RLIMIT_LOCKS", unix.RLIMIT_SIGPENDING: "RLIMIT_SIGPENDING",
	unix.RLIMIT_MSGQUEUE: "RLIMIT_MSGQUEUE", unix.RLIMIT_NICE: "RLIMIT_NICE",
	unix.RLIMIT_RTPRIO: "RLIMIT_RTPRIO", unix.RLIMIT_RTTIME: "RLIMIT_RTTIME",
}

// RlimitName is the RLIMIT_* name of resource r.
func RlimitName(r int) string {
	if n, ok := rlimitNames[r]; ok {
		return n
	}
	return "RLIMIT_" + strconv.Itoa(r)
}

func encodeSpec(s *Spec) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("exec shim: encoding its spec: %w", err)
	}
	return string(b), nil
}

func decodeSpec(arg string) (*Spec, error) {
	var s Spec
	if err := json.Unmarshal([]byte(arg), &s); err != nil {
		return nil, err
	}
	if s.Path == "" || len(s.Argv) == 0 {
		return nil, errors.New("no program")
	}
	return &s, nil
}
