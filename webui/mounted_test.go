package webui

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/rpc"
)

// TestMountedInRPCHandler serves the UI the way supervisord does, inside
// rpc's handler: Basic auth guards it, and the raw log links the page
// shows resolve to rpc's /logtail streams.
func TestMountedInRPCHandler(t *testing.T) {
	b := threeProcs(t)
	srv := httptest.NewServer(rpc.NewHandler(logtailOnly{b: b}, rpc.HandlerOptions{
		Username: "user", Password: "pw", UI: newTestHandler(b),
	}))
	t.Cleanup(srv.Close)

	get := func(t *testing.T, path string, auth bool) *http.Response {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		t.Cleanup(cancel)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth {
			req.SetBasicAuth("user", "pw")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	for _, path := range []string{"/", "/tail.html?processname=web", "/stylesheets/supervisor.css"} {
		if resp := get(t, path, false); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without credentials: status %d, want 401", path, resp.StatusCode)
		}
	}
	resp := get(t, "/", true)
	page, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status page: %d %v", resp.StatusCode, err)
	}

	wantFirstLine := map[string]string{
		"logtail/web":          "hello from web",
		"logtail/grp%3Aworker": "worker output",
	}
	links := regexp.MustCompile(`href="(logtail/[^"]*)"`).FindAllStringSubmatch(string(page), -1)
	if len(links) != 6 {
		t.Fatalf("found %d logtail links, want 6 (stdout and stderr of 3 processes)", len(links))
	}
	for _, link := range links {
		href := link[1]
		want, hasLog := wantFirstLine[href]
		if !hasLog {
			continue // stderr and the process without a log: rpc answers 404
		}
		t.Run(href, func(t *testing.T) {
			resp := get(t, "/"+href, true)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			line, err := bufio.NewReader(resp.Body).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSuffix(line, "\n") != want {
				t.Errorf("stream starts %q, want %q", line, want)
			}
		})
	}
}

// logtailOnly is the rpc side of the mounted UI: of the daemon, these
// requests reach only the log files behind /logtail (any other method
// would panic on the nil Backend).
type logtailOnly struct {
	rpc.Backend
	b *fakeBackend
}

func (l logtailOnly) LogFile(name string, ch protocol.Channel) (string, error) {
	return l.b.LogFile(name, ch)
}
