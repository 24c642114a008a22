package config

import (
	"fmt"
	"strings"
	"syscall"

	"gosupervisor/internal/pyrepr"
)

// signalNames are the names Python's signal module defines on Linux (what
// Supervisor accepts after upper-casing and adding "SIG"). SIG_DFL and
// friends are handler/flag constants that the reference accepts too.
var signalNames = map[string]syscall.Signal{
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5,
	"SIGABRT": 6, "SIGIOT": 6, "SIGBUS": 7, "SIGFPE": 8, "SIGKILL": 9,
	"SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13, "SIGALRM": 14,
	"SIGTERM": 15, "SIGSTKFLT": 16, "SIGCHLD": 17, "SIGCLD": 17, "SIGCONT": 18,
	"SIGSTOP": 19, "SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23,
	"SIGXCPU": 24, "SIGXFSZ": 25, "SIGVTALRM": 26, "SIGPROF": 27, "SIGWINCH": 28,
	"SIGIO": 29, "SIGPOLL": 29, "SIGPWR": 30, "SIGSYS": 31,
	"SIGRTMIN": 34, "SIGRTMAX": 64,
	"SIG_DFL": 0, "SIG_IGN": 1, "SIG_BLOCK": 0, "SIG_UNBLOCK": 1, "SIG_SETMASK": 2,
}

// canonicalSignalNames is Python's name for each signal number (the name
// supervisor.options.signame prints).
var canonicalSignalNames = map[syscall.Signal]string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP",
	6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1",
	11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
	16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP",
	21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ",
	26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGPOLL", 30: "SIGPWR",
	31: "SIGSYS", 34: "SIGRTMIN", 64: "SIGRTMAX",
}

// validSignalNumber reports whether n is a value of some SIG* attribute of
// Python's signal module (0 counts, through SIG_DFL).
func validSignalNumber(n int64) bool {
	if n == 0 {
		return true
	}
	_, ok := canonicalSignalNames[syscall.Signal(n)]
	return ok
}

// ParseSignal is Supervisor's signal_number(): a number, or a name with or
// without "SIG" in any case, that Python's signal module knows.
func ParseSignal(s string) (syscall.Signal, error) {
	n, err := pyInt(s, 10)
	if err != nil {
		name := strings.ToUpper(pyStrip(s))
		if !strings.HasPrefix(name, "SIG") {
			name = "SIG" + name
		}
		sig, ok := signalNames[name]
		if !ok {
			return 0, fmt.Errorf("value %s is not a valid signal name", pyrepr.Str(s))
		}
		n = int64(sig)
	}
	if !validSignalNumber(n) {
		return 0, fmt.Errorf("value %s is not a valid signal number", pyrepr.Str(s))
	}
	return syscall.Signal(n), nil
}

// SignalName is Python's name for a signal number ("SIGTERM"), or
// "signal N" when there is none, as supervisor.options.signame.
func SignalName(sig syscall.Signal) string {
	if name, ok := canonicalSignalNames[sig]; ok {
		return name
	}
	return fmt.Sprintf("signal %d", int(sig))
}
