// Command supervisord is gosupervisor's daemon, a drop-in replacement for
// Supervisor 4.2.5's supervisord.
package main

import (
	"os"

	"gosupervisor/supervisord"
)

func main() {
	os.Exit(supervisord.Main(os.Args, os.Stdout, os.Stderr))
}
