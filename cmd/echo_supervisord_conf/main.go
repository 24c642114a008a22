// Command echo_supervisord_conf prints a commented sample supervisord
// configuration file to standard output, as the reference's command of the
// same name does. Arguments are ignored.
package main

import (
	_ "embed"
	"fmt"
	"os"
)

//go:embed sample.conf
var sample string

func main() {
	if _, err := os.Stdout.WriteString(sample); err != nil {
		fmt.Fprintln(os.Stderr, "echo_supervisord_conf:", err)
		os.Exit(1)
	}
}
