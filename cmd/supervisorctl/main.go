// Command supervisorctl controls a running supervisord: a drop-in for
// Supervisor 4.2.5's supervisorctl.
package main

import (
	"os"

	"gosupervisor/ctl"
)

func main() {
	os.Exit(ctl.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
