package hostile

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// secret is a file of root's that nobody may read, nor learn anything of:
// its size and its time are what the attacker would read off the daemon's
// answers.
const (
	secret     = "secret"
	secretSize = 7919
)

// secretTime is the secret's modification time, distinct enough to be
// recognised in a Last-Modified header.
var secretTime = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// makeSecret writes the secret file of run r.
func makeSecret(t *testing.T, r *run) {
	t.Helper()
	p := r.path(secret)
	if err := os.WriteFile(p, []byte(strings.Repeat("S", secretSize)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, secretTime, secretTime); err != nil {
		t.Fatal(err)
	}
}

// httpAnswer is what an HTTP reader of the daemon answered: its status,
// its Last-Modified and X-Log-Offset headers, and its body (the first 64
// KiB).
type httpAnswer struct {
	status                  int
	lastModified, logOffset string
	body                    string
}

// get asks the daemon for path over its unix socket. A log stream never
// ends: only what arrives within a short while is kept.
func (r *run) get(t *testing.T, path string) httpAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://localhost"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := testenv.UnixClient(r.sock).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body := make([]byte, 64<<10)
	readDone := make(chan int, 1)
	go func() {
		n, _ := io.ReadAtLeast(resp.Body, body, len(body))
		readDone <- n
	}()
	var n int
	select {
	case n = <-readDone:
	case <-time.After(2 * time.Second): // a stream with nothing more to say
		cancel()
		n = <-readDone
	}
	return httpAnswer{status: resp.StatusCode, lastModified: resp.Header.Get("Last-Modified"),
		logOffset: resp.Header.Get("X-Log-Offset"), body: string(body[:n])}
}

// TestPlantedLinkLogReaders: the attacker takes a log's name with a link
// to a file of root's before the daemon opens it (the program is not
// started) or, in a directory they own, swaps the live main log for one.
// No reader of logs (readProcessStdoutLog, tailProcessStdoutLog, readLog,
// /logtail, /mainlogtail, the web UI's tail page and its follow text) may
// follow the link: none may show the file's bytes, its time or its size,
// nor answer differently from a link to nothing (which would tell the
// file exists). Before the fix the HTTP readers stat'ed the path through
// the link: /logtail answered 200 with the secret's Last-Modified, the
// follow text told its size, readProcessStdoutLog told it exists.
func TestPlantedLinkLogReaders(t *testing.T) {
	t.Parallel()
	forEachDir(t, func(t *testing.T, ad attackDir) {
		r := newAttackRun(t, ad, "logfile={{attack}}/main.log",
			program("leak", "ticker", "20", "autostart=false\nstdout_logfile={{attack}}/leak.log")+
				program("ghost", "ticker", "20", "autostart=false\nstdout_logfile={{attack}}/ghost.log"))
		makeSecret(t, r)
		plantLink(t, r.path(secret), r.path(ad.name, "leak.log"))
		plantLink(t, r.path("nothing"), r.path(ad.name, "ghost.log"))
		r.start(t)
		if ad.nobodyOwns {
			// The attacker moves the live main log away and puts a link
			// in its place; the daemon keeps writing the file it holds.
			main := r.path(ad.name, "main.log")
			asNobody(t, "mv", main, main+".moved")
			plantLink(t, r.path(secret), main)
		}

		checkNoSecret := func(what, text string) {
			t.Helper()
			if strings.Contains(text, "SSS") || strings.Contains(text, fmt.Sprint(secretSize)) {
				t.Errorf("%s shows the secret or its size: %q", what, clip(text))
			}
		}
		checkHTTP := func(what string, a httpAnswer) {
			t.Helper()
			checkNoSecret(what, a.body)
			if a.lastModified == secretTime.Format(http.TimeFormat) {
				t.Errorf("%s tells the secret's time: Last-Modified %s", what, a.lastModified)
			}
			if a.status == http.StatusOK || a.logOffset != "" {
				t.Errorf("%s answered %d (X-Log-Offset %q) through the attacker's link: want a refusal", what, a.status, a.logOffset)
			}
		}

		// Each reader answers the same for the link to the secret and
		// the link to nothing (apart from the program's name).
		type rpcAnswer struct {
			value string
			code  int
		}
		callRPC := func(method string, args ...any) rpcAnswer {
			var v any
			err := r.call(method, args, &v)
			code, text, isFault := fault(err)
			switch {
			case isFault:
				return rpcAnswer{value: text, code: code}
			case err != nil:
				t.Fatalf("%s: %v", method, err)
			}
			return rpcAnswer{value: fmt.Sprint(v)}
		}
		for _, method := range []string{"supervisor.readProcessStdoutLog", "supervisor.tailProcessStdoutLog"} {
			leak, ghost := callRPC(method, "leak", 0, 1000), callRPC(method, "ghost", 0, 1000)
			if method == "supervisor.readProcessStdoutLog" {
				leak, ghost = callRPC(method, "leak", 0, 0), callRPC(method, "ghost", 0, 0)
			}
			checkNoSecret(method, leak.value)
			if leak.code != ghost.code || strings.ReplaceAll(leak.value, "leak", "ghost") != ghost.value {
				t.Errorf("%s tells a link to a file from a link to nothing: %+v vs %+v", method, leak, ghost)
			}
		}
		for _, path := range []string{"/logtail/%s", "/logtail/%s/stdout", "/tail.txt?processname=%s&offset=7919", "/tail.txt?processname=%s&offset=0"} {
			leak, ghost := r.get(t, fmt.Sprintf(path, "leak")), r.get(t, fmt.Sprintf(path, "ghost"))
			checkHTTP(fmt.Sprintf(path, "leak"), leak)
			if leak.status != ghost.status || leak.lastModified != ghost.lastModified {
				t.Errorf("%s tells a link to a file from a link to nothing: %+v vs %+v", path, leak, ghost)
			}
		}
		page := r.get(t, "/tail.html?processname=leak")
		checkNoSecret("/tail.html", page.body)

		if ad.nobodyOwns {
			var text string
			err := r.call("supervisor.readLog", []any{0, 0}, &text)
			checkNoSecret("readLog", text)
			if err == nil {
				t.Errorf("readLog read the main log through the attacker's link: %q", clip(text))
			}
			checkHTTP("/mainlogtail", r.get(t, "/mainlogtail"))
		}
		r.checkVictim(t)
	})
}

// clip shortens a text for a failure message.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
