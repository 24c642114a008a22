package ctl

import (
	"errors"
	"net/url"
	"strings"
	"syscall"

	"gosupervisor/internal/protocol"
)

// doEOF ends the shell (exit, quit, end of input) with an empty line.
func (c *controller) doEOF(string) error {
	c.output("")
	return nil
}

// confirm asks a y/N question in interactive mode; elsewhere the answer
// is yes.
func (c *controller) confirm(question string) (bool, error) {
	if !c.opts.interactive {
		return true, nil
	}
	answer, err := c.input.ReadLine(question)
	if err != nil {
		return false, err
	}
	return strings.HasPrefix(strings.ToLower(answer), "y"), nil
}

func (c *controller) doShutdown(arg string) error {
	if c.refuseArgs("shutdown", arg) {
		return nil
	}
	really, err := c.confirm("Really shut the remote supervisord process down y/N? ")
	if err != nil || !really {
		return err
	}
	err = c.call("shutdown", nil)
	if err == nil {
		c.output("Shut down")
		return nil
	}
	if f, ok := asFault(err); ok {
		if f.Code == protocol.FaultShutdownState {
			c.output("ERROR: already shutting down")
			return nil
		}
		c.exitStatus = exitGeneric
		return err
	}
	if isOSError(err) {
		c.exitStatus = exitGeneric
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			c.output("ERROR: " + c.opts.serverURL + " refused connection (already shut down?)")
			return nil
		case errors.Is(err, syscall.ENOENT):
			c.output("ERROR: " + c.opts.serverURL + " no such file (already shut down?)")
			return nil
		}
	}
	return err
}

func (c *controller) doReload(arg string) error {
	if c.refuseArgs("reload", arg) {
		return nil
	}
	really, err := c.confirm("Really restart the remote supervisord process y/N? ")
	if err != nil || !really {
		return err
	}
	if err := c.call("restart", nil); err != nil {
		c.exitStatus = exitGeneric
		if f, ok := asFault(err); ok && f.Code == protocol.FaultShutdownState {
			c.output("ERROR: already shutting down")
			return nil
		}
		return err
	}
	c.output("Restarted supervisord")
	return nil
}

func (c *controller) doOpen(arg string) error {
	u := strings.TrimSpace(arg)
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "unix" && parsed.Scheme != "http") {
		c.output("ERROR: url must be http:// or unix://")
		c.exitStatus = exitGeneric
		return nil
	}
	c.opts.serverURL = u
	old := c.exitStatus
	err = c.doStatus("")
	c.exitStatus = old
	return err
}

func (c *controller) doVersion(arg string) error {
	if c.refuseArgs("version", arg) {
		return nil
	}
	if up, err := c.upcheck(); !up {
		return err
	}
	var v string
	if err := c.call("getSupervisorVersion", &v); err != nil {
		return err
	}
	c.output(v)
	return nil
}
