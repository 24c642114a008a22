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
	"gosupervisor/supervisord/handover"
)

// Main runs supervisord with args (args[0] is the program name as
// invoked) and returns the process exit status: 0 after a clean shutdown,
// -h or -v; 2 for command-line, config and startup errors.
func Main(args []string, stdout, stderr io.Writer) int {
	return MainBuild(Build{}, args, stdout, stderr)
}

// MainBuild is Main for a build that knows more of itself (see Build).
func MainBuild(b Build, args []string, stdout, stderr io.Writer) int {
	if os.Getenv(upgradeCheckEnv) != "" {
		return upgradeCheck(b, os.Stdin, stdout)
	}
	// The new binary of an upgrade in place: the state comes first.
	resume, herr := takeHandover(b)
	if herr != nil && resume == nil {
		fmt.Fprintf(stderr, "Error: %v; the programs run on unsupervised\n", herr)
		return 1
	}
	progname := "supervisord"
	if len(args) > 0 {
		progname, args = args[0], args[1:]
	}
	parent := &parentLink{f: detachedParent()}
	detached := parent.waiting()
	if herr != nil {
		fmt.Fprintf(stderr, "Warning: %v\n", herr)
	}
	status, err := run(b, progname, args, stdout, stderr, parent, detached, resume)
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

func run(b Build, progname string, args []string, stdout, stderr io.Writer, parent *parentLink, detached bool, resume *handover.Document) (int, error) {
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
	if resume != nil {
		return runResumed(b, progname, args, cli, stdout, stderr, resume)
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
	if cli.action == actionUpgrade {
		return askUpgrade(cfg, stdout, stderr), nil
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
		upgrader:       newUpgrader(b),
	}
	return d.serve(cfg, nil)
}

// runResumed runs the new binary of an upgrade in place: the daemon is
// running already (detached or not), its configuration is the one the
// document records, read again from the file on reload as before.
func runResumed(b Build, progname string, args []string, cli cliOptions, stdout, stderr io.Writer, resume *handover.Document) (int, error) {
	cfgs := resume.Configs
	if len(cfgs) == 0 {
		return 1, errors.New("upgrade: the state names no configuration")
	}
	src := cfgs[len(cfgs)-1]
	if resume.Engine.Config >= 0 && resume.Engine.Config < len(cfgs) {
		src = cfgs[resume.Engine.Config]
	}
	path := src.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(src.Cwd, path)
	}
	d := &daemon{
		progname: progname,
		args:     args,
		load: func() (*config.Config, error) {
			return config.Load(path, config.Options{Overrides: cli.overrides})
		},
		stdout:   stdout,
		stderr:   stderr,
		parent:   &parentLink{},
		detached: true,
		upgrader: newUpgrader(b),
	}
	if s := resume.Daemon.Service; s != nil {
		var err error
		if d.service, err = resumeServiceManager(s); err != nil {
			// Running on matters more than telling the manager.
			d.serviceWarning = fmt.Sprintf("upgrade: %v; the service manager is told nothing more", err)
		}
	}
	return d.serve(nil, resume)
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
