// Package supervisord is the daemon's lifecycle: command line, config
// loading, privileges and rlimits, the main log, the HTTP servers,
// daemonizing, the pidfile, OS signals, and running the process engine
// (package engine) until a shutdown, again after each restart.
package supervisord

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/configcheck"
)

// Main runs supervisord with args (args[0] is the program name as
// invoked) and returns the process exit status: 0 after a clean shutdown,
// -h or -v; 2 for command-line, config and startup errors.
func Main(args []string, stdout, stderr io.Writer) int {
	progname := "supervisord"
	if len(args) > 0 {
		progname, args = args[0], args[1:]
	}
	parent := &parentLink{f: detachedParent()}
	detached := parent.waiting()
	status, err := run(progname, args, stdout, stderr, parent, detached)
	defer func() { parent.report(fmt.Sprintf("exit %d", status)) }()
	var uerr *usageError
	if errors.As(err, &uerr) {
		fmt.Fprintf(stderr, "Error: %s\nFor help, use %s -h\n", uerr.msg, progname)
		status = 2
		return status
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		status = 1
		return status
	}
	return status
}

func run(progname string, args []string, stdout, stderr io.Writer, parent *parentLink, detached bool) (int, error) {
	cli, err := parseArgs(args)
	if err != nil {
		return 2, err
	}
	switch cli.action {
	case actionHelp:
		fmt.Fprintf(stdout, helpText, progname)
		return 0, nil
	case actionVersion:
		fmt.Fprintln(stdout, protocol.Version)
		return 0, nil
	}
	path := cli.configFile
	if path == "" {
		cwd, _ := os.Getwd()
		path, err = config.Find(progname, cwd)
		if err != nil && cli.action == actionCheck {
			return writeCheck(configcheck.NotFound(err), cli.format, stdout)
		}
		if err != nil {
			return 2, &usageError{msg: err.Error()}
		}
		if os.Getuid() == 0 {
			fmt.Fprintln(stderr, "Warning: Supervisord is running as root and it is searching for its configuration file in default locations (including its current working directory); you probably want to specify a \"-c\" argument specifying an absolute path to a configuration file for improved security.")
		}
	}
	if cli.action == actionCheck {
		return writeCheck(configcheck.Check(path, config.Options{Overrides: cli.overrides}), cli.format, stdout)
	}
	cfg, err := config.Load(path, config.Options{Overrides: cli.overrides})
	if err != nil {
		return 2, &usageError{msg: err.Error()}
	}
	// Reloads use the absolute path: daemonizing may chdir to directory=
	// (the reference re-reads a relative path there and fails).
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	load := func() (*config.Config, error) {
		return config.Load(path, config.Options{Overrides: cli.overrides})
	}
	// Read before anything is spawned, and removed from the environment
	// so that no program can report in supervisord's name.
	service, serviceWarning := takeServiceManager()
	runsEngine := cfg.Supervisord.Nodaemon || detached || service != nil
	defer startPprof(stderr, runsEngine, cfg)()
	d := &daemon{
		progname: progname,
		args:     args,
		load:     load,
		stdout:   stdout,
		stderr:   stderr,
		parent:   parent,
		detached: detached,

		socketBound:    takeSocketHold(runsEngine),
		service:        service,
		serviceWarning: serviceWarning,
		stall:          takeStallHook(runsEngine),
	}
	return d.serve(cfg)
}

// writeCheck prints a --check-config report in format ("json", else
// text: coloured when stdout is a terminal and NO_COLOR is unset) and
// returns its exit status.
func writeCheck(r *configcheck.Report, format string, stdout io.Writer) (int, error) {
	var err error
	if format == "json" {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteText(stdout, isTerminal(stdout) && os.Getenv("NO_COLOR") == "")
	}
	if err != nil {
		return 2, fmt.Errorf("writing the report: %w", err)
	}
	return r.ExitStatus(), nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
