package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"syscall"

	"gosupervisor/internal/protocol"
)

// LSB init-script exit statuses the reference uses.
const (
	exitSuccess          = 0
	exitGeneric          = 1
	exitInvalidArgs      = 2
	exitUnimplemented    = 3
	exitInsufficientPriv = 4
	exitNotInstalled     = 5
	exitNotRunning       = 7
	exitInterrupted      = 130 // a shell's status for death by SIGINT

	// LSB status-action statuses.
	statusNotRunning = 3
	statusUnknown    = 4
)

// errInterrupted stands for Python's KeyboardInterrupt: the user pressed
// Ctrl-C while we waited for input or streamed a log.
var errInterrupted = errors.New("interrupted")

// command is one supervisorctl action.
type command struct {
	run func(c *controller, arg string) error
	// quits reports that the shell must end after the command.
	quits bool
}

// commands is the action table; help texts live in helpTopics.
var commands = map[string]command{
	"add":      {run: (*controller).doAdd},
	"avail":    {run: (*controller).doAvail},
	"clear":    {run: (*controller).doClear},
	"exit":     {run: (*controller).doEOF, quits: true},
	"fg":       {run: (*controller).doFg},
	"help":     {run: (*controller).doHelp},
	"maintail": {run: (*controller).doMaintail},
	"open":     {run: (*controller).doOpen},
	"pid":      {run: (*controller).doPid},
	"quit":     {run: (*controller).doEOF, quits: true},
	"reload":   {run: (*controller).doReload},
	"remove":   {run: (*controller).doRemove},
	"reread":   {run: (*controller).doReread},
	"restart":  {run: (*controller).doRestart},
	"shutdown": {run: (*controller).doShutdown},
	"signal":   {run: (*controller).doSignal},
	"start":    {run: (*controller).doStart},
	"status":   {run: (*controller).doStatus},
	"stop":     {run: (*controller).doStop},
	"tail":     {run: (*controller).doTail},
	"top":      {run: (*controller).doTop},
	"update":   {run: (*controller).doUpdate},
	"upgrade":  {run: (*controller).doUpgrade},
	"version":  {run: (*controller).doVersion},
	"EOF":      {run: (*controller).doEOF, quits: true},
}

// listedCommands are the actions "help" lists (those with a help text).
func listedCommands() []string {
	names := make([]string, 0, len(helpTopics))
	for name := range helpTopics {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// lineInput reads one line of user input after printing prompt. It
// returns io.EOF at end of input and errInterrupted on Ctrl-C.
type lineInput interface {
	ReadLine(prompt string) (string, error)
	// ReadPassword reads a line without echoing it when input is a terminal.
	ReadPassword(prompt string) (string, error)
}

// controller runs commands against one supervisord, as the reference's
// Controller does: output goes to out, the exit status accumulates.
type controller struct {
	opts   *options
	out    io.Writer
	errOut io.Writer
	input  lineInput
	// notifyInterrupt reports Ctrl-C (SIGINT) until its stop func runs.
	notifyInterrupt func() (<-chan struct{}, func())
	exitStatus      int

	// While a command runs, cmdCtx is cancelled and interrupts closed by
	// Ctrl-C; interrupted records that a command was cut short that way.
	cmdCtx      context.Context
	interrupts  <-chan struct{}
	interrupted bool

	client       *rpcClient
	clientKey    [3]string
	completeInfo []processInfo
	haveComplete bool
}

func (c *controller) output(s string) {
	io.WriteString(c.out, s+"\n")
}

// rpc returns a client for the current server URL and credentials.
func (c *controller) rpc() (*rpcClient, error) {
	key := [3]string{c.opts.serverURL, c.opts.username, c.opts.password}
	if c.client != nil && c.clientKey == key {
		return c.client, nil
	}
	if c.client != nil {
		c.client.close()
	}
	cl, err := newRPCClient(key[0], key[1], key[2])
	if err != nil {
		return nil, err
	}
	c.client, c.clientKey = cl, key
	return cl, nil
}

// call invokes supervisor.<method> (or a fully dotted name).
func (c *controller) call(method string, result any, args ...any) error {
	cl, err := c.rpc()
	if err != nil {
		return err
	}
	if !strings.Contains(method, ".") {
		method = "supervisor." + method
	}
	ctx := c.cmdCtx
	if ctx == nil {
		ctx = context.Background()
	}
	return cl.call(ctx, method, result, args...)
}

// close releases the connection.
func (c *controller) close() {
	if c.client != nil {
		c.client.close()
	}
}

// parseLine splits a line as Python's cmd module does: the command is the
// leading run of identifier characters, "?" means help, "!" a shell
// escape (which supervisorctl lacks).
func parseLine(line string) (cmd, arg, full string, ok bool) {
	line = strings.TrimSpace(line)
	if line == "" {
		return "", "", "", false
	}
	switch line[0] {
	case '?':
		line = "help " + line[1:]
	case '!':
		return "", "", line, false
	}
	i := 0
	for i < len(line) && isIdentChar(line[i]) {
		i++
	}
	return line[:i], strings.TrimSpace(line[i:]), line, true
}

func isIdentChar(b byte) bool {
	return b == '_' || ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z') || ('0' <= b && b <= '9')
}

// onecmd runs one command line and reports whether the shell should stop.
func (c *controller) onecmd(line string) bool {
	cmd, arg, full, ok := parseLine(line)
	if full == "" {
		return false
	}
	c.haveComplete = false
	spec, known := commands[cmd]
	if !ok || cmd == "" || !known {
		c.output("*** Unknown syntax: " + full)
		c.exitStatus = exitGeneric
		return false
	}
	err := c.runInterruptible(spec, arg)
	if c.interrupted {
		return true
	}
	var pe *ProtocolError
	if errors.As(err, &pe) && pe.Status == 401 {
		c.output("Server requires authentication")
		if c.opts.interactive {
			if c.askCredentials() {
				return c.onecmd(line)
			}
			return false
		}
		c.exitStatus = exitGeneric
		// The reference runs the command once more here and reports the
		// second failure as an exception; keep its output.
		err = c.runInterruptible(spec, arg)
		if c.interrupted {
			return true
		}
	}
	if err != nil {
		c.output(pyException(err))
		c.exitStatus = exitGeneric
		return false
	}
	return spec.quits
}

// runInterruptible runs one command with Ctrl-C armed: it cancels the
// command's calls, and unless the command handled it (tail -f, fg), the
// command counts as interrupted, like Python's KeyboardInterrupt.
func (c *controller) runInterruptible(spec command, arg string) error {
	interrupts, stop := c.notifyInterrupt()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-interrupts:
			cancel()
		case <-ctx.Done():
		}
	}()
	c.cmdCtx, c.interrupts = ctx, interrupts
	defer func() {
		stop()
		cancel()
		c.cmdCtx, c.interrupts = nil, nil
	}()
	err := spec.run(c, arg)
	if errors.Is(err, errInterrupted) || (err != nil && ctx.Err() != nil) {
		c.interrupted = true
	}
	return err
}

// askCredentials prompts for a username and password after a 401.
func (c *controller) askCredentials() bool {
	user, err := c.input.ReadLine("Username:")
	if err != nil {
		return false
	}
	pass, err := c.input.ReadPassword("Password:")
	if err != nil {
		return false
	}
	c.output("")
	c.opts.username, c.opts.password = user, pass
	return true
}

// pyException renders an unexpected error like the reference's catch-all
// ("error: <class 'X'>, message: file: F line: L"), pointing at the same
// places of the Python sources, so that scripts see identical text.
func pyException(err error) string {
	const (
		xmlrpcPy  = "/usr/lib/python3/dist-packages/supervisor/xmlrpc.py"
		clientPy  = "/usr/lib/python3.11/xmlrpc/client.py"
		socketPy  = "/usr/lib/python3.11/socket.py"
		connectLn = "557"
	)
	var (
		f   *Fault
		pe  *ProtocolError
		up  errUnknownProtocol
		en  syscall.Errno
		dns *net.DNSError
	)
	switch {
	case errors.As(err, &f):
		return fmt.Sprintf("error: <class 'xmlrpc.client.Fault'>, %s: file: %s line: 668", f.Error(), clientPy)
	case errors.As(err, &pe):
		return fmt.Sprintf("error: <class 'xmlrpc.client.ProtocolError'>, %s: file: %s line: 539", pe.Error(), xmlrpcPy)
	case errors.As(err, &up):
		return fmt.Sprintf("error: <class 'ValueError'>, %s: file: %s line: 505", up.Error(), xmlrpcPy)
	case errors.As(err, &dns):
		// getaddrinfo's EAI_NONAME and EAI_AGAIN, as Python words them.
		if dns.IsNotFound {
			return fmt.Sprintf("error: <class 'socket.gaierror'>, [Errno -2] Name or service not known: file: %s line: 962", socketPy)
		}
		return fmt.Sprintf("error: <class 'socket.gaierror'>, [Errno -3] Temporary failure in name resolution: file: %s line: 962", socketPy)
	case errors.As(err, &en):
		file, line := xmlrpcPy, connectLn
		if isTCPError(err) {
			file, line = socketPy, "836"
		}
		return fmt.Sprintf("error: <class '%s'>, [Errno %d] %s: file: %s line: %s", errnoClass(en), int(en), capitalize(en.Error()), file, line)
	default:
		return fmt.Sprintf("error: <class 'Exception'>, %s: file: %s line: 0", err, xmlrpcPy)
	}
}

// errnoClass is the Python OSError subclass raised for an errno.
func errnoClass(en syscall.Errno) string {
	switch en {
	case syscall.ENOENT:
		return "FileNotFoundError"
	case syscall.ECONNREFUSED:
		return "ConnectionRefusedError"
	case syscall.ECONNRESET:
		return "ConnectionResetError"
	case syscall.ECONNABORTED:
		return "ConnectionAbortedError"
	case syscall.EPIPE:
		return "BrokenPipeError"
	case syscall.EACCES, syscall.EPERM:
		return "PermissionError"
	case syscall.ETIMEDOUT:
		return "TimeoutError"
	default:
		return "OSError"
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// upcheck verifies the server speaks our API version; on failure it
// prints the reference's message, sets the exit status and returns false.
// Errors it cannot explain are returned for onecmd to report.
func (c *controller) upcheck() (bool, error) {
	var api string
	err := c.call("getVersion", &api)
	var f *Fault
	switch {
	case err == nil:
		if api != protocol.APIVersion {
			c.output(fmt.Sprintf("Sorry, this version of supervisorctl expects to talk to a server with API version %s, but the remote version is %s.", protocol.APIVersion, api))
			c.exitStatus = exitNotInstalled
			return false, nil
		}
		return true, nil
	case errors.As(err, &f):
		if f.Code == protocol.FaultUnknownMethod {
			c.output("Sorry, supervisord responded but did not recognize the supervisor namespace commands that supervisorctl uses to control it.  Please check that the [rpcinterface:supervisor] section is enabled in the configuration file (see sample.conf).")
			c.exitStatus = exitUnimplemented
			return false, nil
		}
		c.exitStatus = exitGeneric
		return false, err
	case errors.Is(err, syscall.ECONNREFUSED):
		c.output(c.opts.serverURL + " refused connection")
		c.exitStatus = exitInsufficientPriv
		return false, nil
	case errors.Is(err, syscall.ENOENT):
		c.output(c.opts.serverURL + " no such file")
		c.exitStatus = exitNotRunning
		return false, nil
	case isOSError(err):
		c.exitStatus = exitGeneric
		return false, err
	}
	return false, err
}

// isOSError reports a transport failure (Python's socket.error).
func isOSError(err error) bool {
	var en syscall.Errno
	return errors.As(err, &en)
}

// noIgnoredFault is passed to setExitFromFault when no fault is tolerated.
const noIgnoredFault protocol.FaultCode = -1

// setExitFromFault maps a result status to the exit status, ignoring
// the one fault the action tolerates.
func (c *controller) setExitFromFault(code, ignored protocol.FaultCode) {
	switch code {
	case ignored, protocol.FaultSuccess:
	case protocol.FaultSpawnError, protocol.FaultAbnormalTermination, protocol.FaultNotRunning:
		c.exitStatus = exitNotRunning
	default:
		c.exitStatus = exitGeneric
	}
}

// isTCPError reports a failure of a TCP (http://) connection, which the
// reference raises from socket.py rather than from its unix transport.
func isTCPError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.HasPrefix(op.Net, "tcp")
}
