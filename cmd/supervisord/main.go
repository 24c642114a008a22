// Command supervisord is gosupervisor's daemon, a drop-in replacement for
// Supervisor 4.2.5's supervisord.
package main

import (
	"os"

	"gosupervisor/internal/execshim"
	"gosupervisor/supervisord"
)

// Set at link time (-ldflags "-X main.label=..."): see supervisord.Build.
var (
	label         string
	stateVersions string
	resumeFault   string
)

func main() {
	// A child started through the exec shim (same binary) sets itself up
	// and execs its program here; the daemon returns at once.
	execshim.Main()
	os.Exit(supervisord.MainBuild(supervisord.Build{Label: label, StateVersions: stateVersions, ResumeFault: resumeFault}, os.Args, os.Stdout, os.Stderr))
}
