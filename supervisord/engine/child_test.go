package engine

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gosupervisor/internal/execshim"
	"gosupervisor/internal/testenv"
)

// childEnvVar makes the test binary act as a supervised child instead of
// running tests (the os/exec TestMain pattern).
const childEnvVar = "ENGINE_TEST_CHILD"

func TestMain(m *testing.M) {
	// Children with rlimits start through the exec shim: this binary.
	execshim.Main()
	if os.Getenv(childEnvVar) != "" {
		os.Exit(runChild(os.Args[1:]))
	}
	code := m.Run()
	if code == 0 {
		code = testenv.CheckGoroutines(1)
	}
	os.Exit(code)
}

// childModes are what a real child can do; each prints "ready" once set up.
var childModes = map[string]func(args []string) int{
	// sleep: run until signalled.
	"sleep": func([]string) int { ready(); return sleepForever() },
	// exit CODE SECS: exit with CODE after SECS.
	"exit": func(args []string) int {
		code, _ := strconv.Atoi(args[0])
		secs, _ := strconv.ParseFloat(args[1], 64)
		ready()
		time.Sleep(time.Duration(secs * float64(time.Second)))
		return code
	},
	// ignore-term: SIGTERM does nothing.
	"ignore-term": func([]string) int {
		signal.Ignore(syscall.SIGTERM)
		ready()
		return sleepForever()
	},
	// env: print the SUPERVISOR_* variables, FOO and the working directory.
	"env": func([]string) int {
		for _, kv := range os.Environ() {
			if strings.HasPrefix(kv, "SUPERVISOR_") || strings.HasPrefix(kv, "FOO=") {
				fmt.Println(kv)
			}
		}
		wd, _ := os.Getwd()
		fmt.Println("cwd=" + wd)
		fmt.Fprintln(os.Stderr, "to stderr")
		ready()
		return sleepForever()
	},
	// echo: copy stdin to stdout line by line.
	"echo": func([]string) int {
		ready()
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			fmt.Println("echo: " + sc.Text())
		}
		return 0
	},
	// grandchild [exit]: start a sleeping grandchild that shares stdout,
	// print its pid, then sleep (or exit with "exit").
	"grandchild": func(args []string) int {
		exe, _ := os.Executable()
		p, err := os.StartProcess(exe, []string{exe, "sleep"}, &os.ProcAttr{
			Env:   os.Environ(),
			Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		})
		if err != nil {
			fmt.Println("grandchild failed:", err)
			return 1
		}
		fmt.Printf("grandchild %d\n", p.Pid)
		if len(args) > 0 && args[0] == "exit" {
			return 0
		}
		ready()
		return sleepForever()
	},
	// write N: write N bytes to stdout and to stderr, then exit 0.
	"write": func(args []string) int {
		n, _ := strconv.Atoi(args[0])
		out := []byte(strings.Repeat("o", n))
		errb := []byte(strings.Repeat("e", n))
		if _, err := os.Stdout.Write(out); err != nil {
			return 1
		}
		if _, err := os.Stderr.Write(errb); err != nil {
			return 1
		}
		return 0
	},
	// count: print 1, 2, 3, ... one line per write, as fast as a line
	// every 200µs, until killed.
	"count": func([]string) int {
		for i := 1; ; i++ {
			if _, err := fmt.Printf("%d\n", i); err != nil {
				return 1
			}
			time.Sleep(200 * time.Microsecond)
		}
	},
	// listener: an event listener that accepts every event and notes
	// each serial on stderr ("serial N pool_serial M").
	"listener": func([]string) int {
		in := bufio.NewReader(os.Stdin)
		for {
			os.Stdout.WriteString("READY\n")
			line, err := in.ReadString('\n')
			if err != nil {
				return 0
			}
			hdr := map[string]string{}
			for _, f := range strings.Fields(line) {
				k, v, _ := strings.Cut(f, ":")
				hdr[k] = v
			}
			n, _ := strconv.Atoi(hdr["len"])
			if _, err := io.ReadFull(in, make([]byte, n)); err != nil {
				return 0
			}
			fmt.Fprintf(os.Stderr, "serial %s pool_serial %s %s\n", hdr["serial"], hdr["poolserial"], hdr["eventname"])
			os.Stdout.WriteString("RESULT 2\nOK")
		}
	},
	// write-on-term N: on SIGTERM write a byte, then N more at once,
	// then exit 0 (the reader is then likely to be waiting for a small
	// read's output to gather: logrot.WithCoalesce).
	"write-on-term": func(args []string) int {
		n, _ := strconv.Atoi(args[0])
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		ready()
		<-term
		if _, err := os.Stdout.Write([]byte("o")); err != nil {
			return 1
		}
		if _, err := os.Stdout.Write([]byte(strings.Repeat("o", n))); err != nil {
			return 1
		}
		return 0
	},
	// fd0: say whether stdin is a socket.
	"fd0": func([]string) int {
		fi, err := os.Stdin.Stat()
		fmt.Printf("fd0 socket=%v err=%v\n", err == nil && fi.Mode()&os.ModeSocket != 0, err)
		ready()
		return sleepForever()
	},
	// no-clone3 LEAF [shim]: with clone3 failing ENOSYS (a seccomp
	// filter, as container runtimes install), spawn cgroupScript into
	// the cgroup v2 LEAF through realOS and print what it printed.
	"no-clone3": spawnWithoutClone3,
}

func runChild(args []string) int {
	if len(args) == 0 || childModes[args[0]] == nil {
		fmt.Fprintf(os.Stderr, "unknown child mode %q\n", args)
		return 99
	}
	return childModes[args[0]](args[1:])
}

func ready() { fmt.Println("ready") }

func sleepForever() int {
	for {
		time.Sleep(time.Hour)
	}
}
