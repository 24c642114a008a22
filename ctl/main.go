// Package ctl is supervisorctl: it parses the command line and the
// [supervisorctl] section, then runs actions against a supervisord over
// XML-RPC (and its /logtail streams), one-shot or in an interactive shell,
// with the output and exit codes of Supervisor 4.2.5's client.
package ctl

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
)

// Main runs supervisorctl with args (args[0] is the program name) and
// returns the process exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return exitInvalidArgs
	}
	env := environment{
		cwd:             cwd,
		getenv:          os.LookupEnv,
		environ:         os.Environ(),
		notifyInterrupt: osInterrupts,
	}
	return run(args, stdin, stdout, stderr, env)
}

// environment is what run takes from the process, so tests can supply it.
type environment struct {
	cwd             string
	getenv          func(string) (string, bool)
	environ         []string
	notifyInterrupt func() (<-chan struct{}, func())
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer, env environment) int {
	if len(args) == 0 {
		args = []string{"supervisorctl"}
	}
	opts, err := parseOptions(args, env.cwd, env.getenv, env.environ)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %s\nFor help, use %s -h\n", err, args[0])
		return exitInvalidArgs
	}
	if opts.help {
		fmt.Fprint(stdout, strings.ReplaceAll(usageText, "%s", args[0]))
		return exitSuccess
	}
	out := &lockedWriter{w: stdout}
	in := newInput(stdin, stdout, env.notifyInterrupt)
	defer in.Close()
	c := &controller{
		opts:            opts,
		out:             out,
		errOut:          &lockedWriter{w: stderr},
		input:           in,
		notifyInterrupt: env.notifyInterrupt,
	}
	defer c.close()
	if len(opts.args) > 0 {
		c.onecmd(strings.Join(opts.args, " "))
		if c.interrupted {
			// Python ends on an uncaught KeyboardInterrupt by SIGINT.
			return exitInterrupted
		}
		return c.exitStatus
	}
	c.shell(in)
	return exitSuccess
}

// osInterrupts delivers SIGINT as a closed channel until stop is called;
// outside that window Ctrl-C keeps its default effect.
func osInterrupts() (<-chan struct{}, func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	interrupted := make(chan struct{})
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			close(interrupted)
		case <-done:
		}
	}()
	var once sync.Once
	return interrupted, func() {
		once.Do(func() {
			signal.Stop(sig)
			close(done)
		})
	}
}

// lockedWriter serialises writes: fg streams stdout and stderr logs from
// two goroutines while the shell also prints.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
