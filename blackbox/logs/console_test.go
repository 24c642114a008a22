package logs

import (
	"bytes"
	"fmt"
	"testing"
)

// consoleProgram logs both channels to the daemon's own stdout and stderr,
// as containers do; maxbytes is "" for the default (50MB).
func consoleProgram(maxbytes string) string {
	keys := "stdout_logfile=/dev/stdout\nstderr_logfile=/dev/stderr"
	if maxbytes != "" {
		keys += fmt.Sprintf("\nstdout_logfile_maxbytes=%s\nstderr_logfile_maxbytes=%s", maxbytes, maxbytes)
	}
	return program("console", "stream", "21 40 {{here}}/done-console", keys)
}

// TestConsoleLogs sends child output to /dev/stdout and /dev/stderr (pipes
// here). With maxbytes=0, as the reference's docs require, both daemons
// must pass every record through in order; ours must also do so with the
// default maxbytes, since a pipe is never rotated.
func TestConsoleLogs(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		impl     implementation
		maxbytes string
	}{
		{reference, "0"},
		{ours, "0"},
		{ours, ""},
	} {
		t.Run(fmt.Sprintf("%s/maxbytes=%q", c.impl.name, c.maxbytes), func(t *testing.T) {
			t.Parallel()
			s := newSide(t, c.impl, "loglevel=info", consoleProgram(c.maxbytes))
			s.start(t)
			s.waitStreamsLogged(t, "logs", "console")
			checkRecordsInOrder(t, "stdout", []byte(s.daemon.Stdout.String()), 21)
			checkRecordsInOrder(t, "stderr", []byte(s.daemon.Stderr.String()), 1021)
			if errs := s.errorRecords(t); len(errs) > 0 {
				t.Errorf("errors in the main log: %q", errs)
			}
		})
	}
}

// checkRecordsInOrder checks every record of stream seed appears in out,
// in order (the main log's copy may come between two read chunks).
func checkRecordsInOrder(t *testing.T, what string, out []byte, seed int) {
	t.Helper()
	at := 0
	for i := range 40 {
		r := Record(seed, i)
		j := bytes.Index(out[at:], r)
		if j < 0 {
			t.Errorf("daemon %s lacks record %d (%q) after byte %d:\n%q", what, i, r, at, out)
			return
		}
		at += j + len(r)
	}
}
