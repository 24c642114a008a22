package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/pyrepr"
)

// parsePyInt is the reference's int() of a tail modifier such as the
// 100 of "-100" (Unicode digits and underscores included).
func parsePyInt(s string) (int, bool) {
	n, err := config.PyInt(s)
	return int(n), err == nil
}

func (c *controller) doTail(arg string) error {
	if up, err := c.upcheck(); !up {
		return err
	}
	args := strings.Fields(arg)
	if len(args) < 1 || len(args) > 3 {
		if len(args) < 1 {
			c.output("Error: too few arguments")
		} else {
			c.output("Error: too many arguments")
		}
		c.exitStatus = exitGeneric
		c.help("tail")
		return nil
	}
	modifier := ""
	if strings.HasPrefix(args[0], "-") {
		modifier, args = args[0], args[1:]
	}
	var name, channel string
	switch {
	case len(args) == 1:
		name, channel = args[0], "stdout"
	case len(args) > 1:
		name, channel = args[0], strings.ToLower(args[len(args)-1])
		if channel != "stderr" && channel != "stdout" {
			c.output("Error: bad channel " + pyrepr.Str(channel))
			c.exitStatus = exitGeneric
			return nil
		}
	default:
		c.output("Error: tail requires process name")
		c.exitStatus = exitGeneric
		return nil
	}
	nbytes, follow := 1600, false
	if modifier != "" {
		what := modifier[1:]
		if what == "f" {
			follow = true
		} else {
			n, ok := parsePyInt(what)
			if !ok {
				c.output("Error: bad argument " + modifier)
				c.exitStatus = exitGeneric
				return nil
			}
			nbytes = n
		}
	}
	if follow {
		return c.tailFollow("/logtail/" + name + "/" + channel)
	}
	method := "readProcessStdoutLog"
	if channel == "stderr" {
		method = "readProcessStderrLog"
	}
	var out string
	if err := c.call(method, &out, name, -nbytes, 0); err != nil {
		f, ok := asFault(err)
		if !ok {
			return err
		}
		c.exitStatus = exitGeneric
		switch f.Code {
		case protocol.FaultNoFile:
			c.output(name + ": ERROR (no log file)")
		case protocol.FaultFailed:
			c.output(name + ": ERROR (unknown error reading log)")
		case protocol.FaultBadName:
			c.output(name + ": ERROR (no such process name)")
		default:
			return err
		}
		return nil
	}
	c.output(out)
	return nil
}

func (c *controller) doMaintail(arg string) error {
	if up, err := c.upcheck(); !up {
		return err
	}
	args := strings.Fields(arg)
	nbytes := 1600
	switch {
	case len(args) > 1:
		c.output("Error: too many arguments")
		c.exitStatus = exitGeneric
		c.help("maintail")
		return nil
	case len(args) == 1:
		if !strings.HasPrefix(args[0], "-") {
			c.output("Error: bad argument " + args[0])
			c.exitStatus = exitGeneric
			return nil
		}
		what := args[0][1:]
		if what == "f" {
			return c.tailFollow("/mainlogtail")
		}
		n, ok := parsePyInt(what)
		if !ok {
			c.output("Error: bad argument " + args[0])
			c.exitStatus = exitGeneric
			return nil
		}
		nbytes = n
	}
	var out string
	if err := c.call("readLog", &out, -nbytes, 0); err != nil {
		f, ok := asFault(err)
		if !ok {
			return err
		}
		c.exitStatus = exitGeneric
		switch f.Code {
		case protocol.FaultNoFile:
			c.output("supervisord: ERROR (no log file)")
		case protocol.FaultFailed:
			c.output("supervisord: ERROR (unknown error reading log)")
		default:
			return err
		}
		return nil
	}
	c.output(out)
	return nil
}

// tailFollow streams path until the server ends it or the user presses
// Ctrl-C (then it prints an empty line, as the reference does).
func (c *controller) tailFollow(path string) error {
	c.output("==> Press Ctrl-C to exit <==")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.streamTo(ctx, path)
		close(done)
	}()
	select {
	case <-done:
		wg.Wait()
		return nil
	case <-c.interrupts:
		cancel()
		wg.Wait()
		c.output("")
		return nil
	}
}

// streamTo copies one /logtail or /mainlogtail stream to the output until
// it ends or ctx is cancelled. Failures go to stderr prefixed with the
// stream's URL, as the reference's HTTP client reports them.
func (c *controller) streamTo(ctx context.Context, path string) {
	where := c.opts.serverURL + path
	cl, err := c.rpc()
	if err != nil {
		fmt.Fprintf(c.errOut, "%s Cannot connect, error: %s\n", where, err)
		return
	}
	resp, err := cl.stream(ctx, path)
	if err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(c.errOut, "%s Cannot connect, error: %s\n", where, describeConnError(err))
		}
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		fmt.Fprintf(c.errOut, "%s Cannot read, status code %d\n", where, resp.StatusCode)
		return
	}
	buf := make([]byte, 32*1024)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			c.out.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// describeConnError renders a connection failure the way the reference's
// asynchronous HTTP client does: "<class 'X'> ([Errno N] Message)".
func describeConnError(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		return fmt.Sprintf("<class '%s'> ([Errno %d] %s)", errnoClass(en), int(en), capitalize(en.Error()))
	}
	return fmt.Sprintf("<class 'OSError'> (%s)", err)
}

func (c *controller) doFg(arg string) error {
	if up, err := c.upcheck(); !up {
		return err
	}
	names := strings.Fields(arg)
	if len(names) == 0 {
		c.output("ERROR: no process name supplied")
		c.exitStatus = exitGeneric
		c.help("fg")
		return nil
	}
	if len(names) > 1 {
		c.output("ERROR: too many process names supplied")
		c.exitStatus = exitGeneric
		return nil
	}
	name := names[0]
	var info processInfo
	if err := c.call("getProcessInfo", &info, name); err != nil {
		f, ok := asFault(err)
		if !ok {
			return err
		}
		if f.Code == protocol.FaultBadName {
			c.output("ERROR: bad process name supplied")
			c.exitStatus = exitGeneric
		} else {
			c.output("ERROR: " + f.Error())
		}
		return nil
	}
	if info.State != protocol.StateRunning {
		c.output("ERROR: process not running")
		c.exitStatus = exitGeneric
		return nil
	}
	c.output("==> Press Ctrl-C to exit <==")

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, channel := range []string{"stdout", "stderr"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.streamTo(ctx, "/logtail/"+name+"/"+channel)
		}()
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	for {
		line, err := c.input.ReadLine("")
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, errInterrupted) {
				c.output("Exiting foreground")
				return nil
			}
			return err
		}
		if err := c.call("sendProcessStdin", nil, name, line+"\n"); err != nil {
			f, ok := asFault(err)
			if !ok {
				return err
			}
			if f.Code == protocol.FaultNotRunning {
				c.output("Process got killed")
			} else {
				c.output("ERROR: " + f.Error())
			}
			c.output("Exiting foreground")
			return nil
		}
		if err := c.call("getProcessInfo", &info, name); err != nil {
			return err
		}
		if info.State != protocol.StateRunning {
			c.output("Process got killed")
			c.output("Exiting foreground")
			return nil
		}
	}
}
