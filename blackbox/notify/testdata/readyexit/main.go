// Command readyexit sends READY=1 to $NOTIFY_SOCKET and exits 0: the
// program TestDescriptorsStable spawns a thousand times. It is built
// without the race detector, whose start-up would make those spawns
// slow.
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: os.Getenv("NOTIFY_SOCKET"), Net: "unixgram"})
	if err == nil {
		_, err = c.Write([]byte("READY=1"))
		c.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
}
