package supervisord_test

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// helperEnv marks a run of this test binary as a supervised child: both
// daemons start it through a program's environment= setting.
const helperEnv = "GOSUP_LIFECYCLE_HELPER"

// helpers are the child behaviours the scenarios configure, by name
// (the first argument after the binary). An unknown name exits 99.
var helpers = map[string]func(args []string) int{
	// run: print a line every 200 ms until killed.
	"run": func([]string) int {
		for i := 0; ; i++ {
			fmt.Printf("tick %d\n", i)
			time.Sleep(200 * time.Millisecond)
		}
	},
	// exit CODE MS: sleep MS milliseconds, then exit with CODE.
	"exit": func(args []string) int {
		code, _ := strconv.Atoi(args[0])
		ms, _ := strconv.Atoi(args[1])
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return code
	},
	// exitseq FILE CODES MS: the Nth run (counted in FILE) sleeps MS
	// milliseconds and exits with the Nth of the comma-separated CODES
	// (the last one once they run out).
	"exitseq": func(args []string) int {
		n := 0
		if b, err := os.ReadFile(args[0]); err == nil {
			n, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if err := os.WriteFile(args[0], []byte(strconv.Itoa(n+1)), 0o644); err != nil {
			return 98
		}
		codes := strings.Split(args[1], ",")
		code, _ := strconv.Atoi(codes[min(n, len(codes)-1)])
		ms, _ := strconv.Atoi(args[2])
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return code
	},
	// ignoreterm: ignore SIGTERM and run until killed.
	"ignoreterm": func([]string) int {
		signal.Ignore(syscall.SIGTERM)
		select {}
	},
	// pidfile FILE: append our pid to FILE and run until killed.
	"pidfile": func(args []string) int {
		f, err := os.OpenFile(args[0], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return 98
		}
		fmt.Fprintf(f, "%d\n", os.Getpid())
		f.Close()
		select {}
	},
}

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" && len(os.Args) > 1 {
		h, ok := helpers[os.Args[1]]
		if !ok {
			os.Exit(99)
		}
		os.Exit(h(os.Args[2:]))
	}
	// The black-box tests mostly wait on daemons and their 1 s ticks, so
	// run more of them at once than GOMAXPROCS unless -parallel was given.
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "6")
	}
	code := m.Run()
	if code == 0 {
		code = testenv.CheckGoroutines(1)
	}
	os.Exit(code)
}
