package webui

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/rpc"
	"gosupervisor/supervisord/engine"
)

// fixedNow is the clock of every handler under test.
func fixedNow() time.Time { return time.Date(2026, time.November, 3, 4, 35, 8, 0, time.Local) }

// testOptions are the options of every handler under test: a fixed
// clock, and the rpc package's fault wording as supervisord wires it.
func testOptions() Options { return Options{Now: fixedNow, Fault: rpcFault} }

func rpcFault(err error) (protocol.FaultCode, string) {
	f := rpc.FaultOf(err)
	return f.Code, f.String
}

func newTestHandler(b Backend) *Handler {
	return New(b, testOptions())
}

// do sends one request to h and returns the response and its body.
func do(t *testing.T, h http.Handler, method, target string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(data)
}

func threeProcs(t *testing.T) *fakeBackend {
	return newFakeBackend(t,
		fakeProc{group: "web", name: "web", state: protocol.StateRunning, log: "hello from web\n"},
		fakeProc{group: "grp", name: "worker", state: protocol.StateStopped, log: "worker output\n"},
		fakeProc{group: "jobs", name: "jobs", state: protocol.StateFatal, log: "-"},
	)
}

func TestStatusPageLists(t *testing.T) {
	b := threeProcs(t)
	h := newTestHandler(b)
	for _, path := range []string{"/", "/index.html"} {
		t.Run(path, func(t *testing.T) {
			resp, body := do(t, h, http.MethodGet, path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			wantHeaders := map[string]string{
				"Content-Type":  "text/html;charset=utf-8",
				"Pragma":        "no-cache",
				"Cache-Control": "no-cache",
				"Expires":       "Thu, 01 Jan 1970 00:00:00 GMT",
			}
			for k, v := range wantHeaders {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			wantParts := []string{
				`data-name="web" data-state="running"`,
				`<span class="badge statusrunning badge-running">running</span>`,
				`href="tail.html?processname=web"`,
				`data-name="grp:worker" data-state="stopped"`,
				`href="tail.html?processname=grp%3aworker"`,
				`href="logtail/grp%3Aworker/stderr"`,
				`<span class="badge statuserror badge-fatal">fatal</span>`,
				`Exited too quickly (process log may have details)`,
				`<b>1</b> running`,
				`<span id="supervisor_version">4.2.5</span>`,
			}
			for _, want := range wantParts {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if strings.Contains(body, "statusmessage") {
				t.Error("status message shown without ?message=")
			}
		})
	}
}

// TestStatusPageActionsPerState checks which buttons each state offers:
// the reference's choice (Start for stopped/exited/fatal, Restart and Stop
// for running, neither while in transition; Clear log always).
func TestStatusPageActionsPerState(t *testing.T) {
	tests := []struct {
		state       protocol.ProcessState
		wantButtons []string
	}{
		{protocol.StateRunning, []string{"restart", "stop", "clearlog"}},
		{protocol.StateStopped, []string{"start", "clearlog"}},
		{protocol.StateExited, []string{"start", "clearlog"}},
		{protocol.StateFatal, []string{"start", "clearlog"}},
		{protocol.StateStarting, []string{"clearlog"}},
		{protocol.StateBackoff, []string{"clearlog"}},
		{protocol.StateStopping, []string{"clearlog"}},
	}
	for _, tt := range tests {
		t.Run(tt.state.String(), func(t *testing.T) {
			h := newTestHandler(newFakeBackend(t, fakeProc{group: "p", name: "p", state: tt.state, log: "-"}))
			_, body := do(t, h, http.MethodGet, "/", nil)
			var got []string
			for _, part := range strings.Split(body, `name="action" value="`)[1:] {
				v := part[:strings.IndexByte(part, '"')]
				if v != "refresh" && v != "restartall" && v != "stopall" {
					got = append(got, v)
				}
			}
			if !reflect.DeepEqual(got, tt.wantButtons) {
				t.Errorf("buttons %v, want %v", got, tt.wantButtons)
			}
		})
	}
}

func TestStatusPageEmptyAndMessage(t *testing.T) {
	h := newTestHandler(newFakeBackend(t))
	_, body := do(t, h, http.MethodGet, "/?message=Process%20x%20started", nil)
	for _, want := range []string{"No programs to manage", `class="status_msg" role="status">Process x started</div>`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	_, body = do(t, h, http.MethodGet, "/?message=ERROR%3A%20Process%20x%3A%20spawn%20error", nil)
	if !strings.Contains(body, `class="status_msg error"`) {
		t.Error("error message not marked as error")
	}
}

func TestActions(t *testing.T) {
	const ctime = "Tue%20Nov%20%203%2004%3A35%3A08%202026"
	tests := []struct {
		name      string
		method    string
		target    string
		form      url.Values
		startErr  error
		wantMsg   string // the message in the Location, already quoted
		wantCalls []string
		wantState map[string]string
	}{
		{name: "refresh", method: "GET", target: "/index.html?action=refresh",
			wantMsg: "Page%20refreshed%20at%20" + ctime},
		{name: "stop", method: "GET", target: "/index.html?processname=web&action=stop",
			wantMsg: "Process%20web%20stopped", wantCalls: []string{"stop web"},
			wantState: map[string]string{"web": "STOPPED"}},
		{name: "stop not running", method: "GET", target: "/index.html?processname=grp%3Aworker&action=stop",
			wantMsg:   "unexpected%20rpc%20fault%20%5B70%5D%20NOT_RUNNING%3A%20grp%3Aworker",
			wantCalls: []string{"stop grp:worker"}},
		{name: "start by POST", method: "POST", target: "/", form: url.Values{"processname": {"grp:worker"}, "action": {"start"}},
			wantMsg: "Process%20grp%3Aworker%20started", wantCalls: []string{"start grp:worker"},
			wantState: map[string]string{"grp:worker": "RUNNING"}},
		{name: "POST body wins over query", method: "POST", target: "/?action=stop&processname=web",
			form:    url.Values{"action": {"start"}, "processname": {"grp:worker"}},
			wantMsg: "Process%20grp%3Aworker%20started", wantCalls: []string{"start grp:worker"}},
		{name: "start already started", method: "GET", target: "/?processname=web&action=start",
			wantMsg: "ERROR%3A%20Process%20web%3A%20already%20started", wantCalls: []string{"start web"}},
		{name: "start spawn error", method: "GET", target: "/?processname=jobs&action=start",
			startErr: rpc.NewFault(protocol.FaultSpawnError, "jobs"),
			wantMsg:  "ERROR%3A%20Process%20jobs%3A%20spawn%20error", wantCalls: []string{"start jobs"}},
		{name: "start no such file", method: "GET", target: "/?processname=jobs&action=start",
			startErr: rpc.NewFault(protocol.FaultNoFile, "/nope"),
			wantMsg:  "ERROR%3A%20Process%20jobs%3A%20no%20such%20file", wantCalls: []string{"start jobs"}},
		{name: "start other fault", method: "GET", target: "/?processname=jobs&action=start",
			startErr:  rpc.NewFault(protocol.FaultShutdownState, ""),
			wantMsg:   "ERROR%3A%20Process%20jobs%3A%20unexpected%20rpc%20fault%20%5B6%5D%20SHUTDOWN_STATE",
			wantCalls: []string{"start jobs"}},
		{name: "start plain error", method: "GET", target: "/?processname=jobs&action=start",
			startErr:  errors.New("boom"),
			wantMsg:   "ERROR%3A%20Process%20jobs%3A%20unexpected%20rpc%20fault%20%5B30%5D%20FAILED%3A%20boom",
			wantCalls: []string{"start jobs"}},
		{name: "restart running", method: "GET", target: "/?processname=web&action=restart",
			wantMsg: "Process%20web%20restarted", wantCalls: []string{"stop web", "start web"},
			wantState: map[string]string{"web": "RUNNING"}},
		{name: "restart stopped", method: "GET", target: "/?processname=grp%3Aworker&action=restart",
			wantMsg:   "Process%20grp%3Aworker%20restarted",
			wantCalls: []string{"stop grp:worker", "start grp:worker"}, wantState: map[string]string{"grp:worker": "RUNNING"}},
		{name: "restart failing start", method: "GET", target: "/?processname=jobs&action=restart",
			startErr: rpc.NewFault(protocol.FaultAbnormalTermination, "jobs"),
			wantMsg:  "ERROR%3A%20Process%20jobs%3A%20abnormal%20termination", wantCalls: []string{"stop jobs", "start jobs"}},
		{name: "clearlog", method: "GET", target: "/?processname=web&action=clearlog",
			wantMsg: "Log%20for%20web%20cleared", wantCalls: []string{"clearlog web"}},
		{name: "unknown process", method: "GET", target: "/?processname=zz&action=start",
			wantMsg: "No%20such%20process%20named%20zz"},
		{name: "stopall", method: "POST", target: "/index.html", form: url.Values{"action": {"stopall"}},
			wantMsg:   "All%20stopped%20at%20" + ctime,
			wantCalls: []string{"stopall", "stop grp:worker", "stop jobs", "stop web"},
			wantState: map[string]string{"web": "STOPPED"}},
		{name: "restartall", method: "GET", target: "/?action=restartall",
			wantMsg: "All%20restarted%20at%20" + ctime,
			wantCalls: []string{"stopall", "stop grp:worker", "stop jobs", "stop web",
				"startall", "start grp:worker", "start jobs", "start web"},
			wantState: map[string]string{"web": "RUNNING", "grp:worker": "RUNNING", "jobs": "RUNNING"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := threeProcs(t)
			if tt.startErr != nil {
				b.startErr["jobs"] = tt.startErr
			}
			resp, _ := do(t, newTestHandler(b), tt.method, tt.target, tt.form)
			if resp.StatusCode != http.StatusMovedPermanently {
				t.Fatalf("status %d, want 301", resp.StatusCode)
			}
			if got, want := resp.Header.Get("Location"), "http://example.com/?message="+tt.wantMsg; got != want {
				t.Errorf("Location\n got %s\nwant %s", got, want)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control %q on redirect", got)
			}
			if got := b.Calls(); !reflect.DeepEqual(got, tt.wantCalls) && (len(got) > 0 || len(tt.wantCalls) > 0) {
				t.Errorf("calls %q, want %q", got, tt.wantCalls)
			}
			for name, want := range tt.wantState {
				if got := b.StateOf(name); got != want {
					t.Errorf("%s is %s, want %s", name, got, want)
				}
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	tests := []struct {
		method, target string
		wantStatus     int
	}{
		{"GET", "/?action=bogus", http.StatusBadRequest},
		{"GET", "/?action=start", http.StatusBadRequest},
		{"GET", "/?action=stop&processname=", http.StatusBadRequest},
		{"PUT", "/", http.StatusMethodNotAllowed},
		{"DELETE", "/tail.html", http.StatusMethodNotAllowed},
		{"POST", "/tail.txt?processname=web", http.StatusMethodNotAllowed},
		{"POST", "/stylesheets/supervisor.css", http.StatusMethodNotAllowed},
		{"GET", "/nope.html", http.StatusNotFound},
		{"GET", "/stylesheets/", http.StatusNotFound},
		{"GET", "/status.html", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			b := threeProcs(t)
			resp, _ := do(t, newTestHandler(b), tt.method, tt.target, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if calls := b.Calls(); len(calls) != 0 {
				t.Errorf("backend called: %q", calls)
			}
		})
	}
}

func TestOversizedFormRefused(t *testing.T) {
	b := threeProcs(t)
	form := url.Values{"action": {"stop"}, "processname": {"web"}, "pad": {strings.Repeat("x", maxFormBytes)}}
	resp, _ := do(t, newTestHandler(b), http.MethodPost, "/", form)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	if calls := b.Calls(); len(calls) != 0 {
		t.Errorf("backend called: %q", calls)
	}
}

func TestTail(t *testing.T) {
	long := strings.Repeat("a", 3000) + "END\n"
	tests := []struct {
		name     string
		target   string
		log      string
		errLog   string
		wantPre  string // exact content of the <pre>, HTML-escaped
		wantHref string // the Refresh link, "" when there must be none
	}{
		{name: "content", target: "/tail.html?processname=p", log: "line 1\nline 2\n",
			wantPre: "line 1\nline 2\n", wantHref: "tail.html?processname=p&amp;limit=1024"},
		{name: "last 1024 bytes", target: "/tail.html?processname=p", log: long,
			wantPre: long[len(long)-1024:], wantHref: "tail.html?processname=p&amp;limit=1024"},
		{name: "limit", target: "/tail.html?processname=p&limit=2000", log: long,
			wantPre: long[len(long)-2000:], wantHref: "tail.html?processname=p&amp;limit=2000"},
		{name: "limit below minimum", target: "/tail.html?processname=p&limit=10", log: long,
			wantPre: long[len(long)-1024:], wantHref: "tail.html?processname=p&amp;limit=1024"},
		{name: "limit not a number", target: "/tail.html?processname=p&limit=-5000", log: long,
			wantPre: long[len(long)-1024:], wantHref: "tail.html?processname=p&amp;limit=1024"},
		{name: "stderr", target: "/tail.html?processname=p&channel=stderr", log: "out\n", errLog: "oops\n",
			wantPre: "oops\n", wantHref: "tail.html?processname=p&amp;channel=stderr&amp;limit=1024"},
		{name: "stderr without file", target: "/tail.html?processname=p&channel=stderr&limit=5000", log: "out\n",
			wantPre: "No file for p", wantHref: "tail.html?processname=p&amp;channel=stderr&amp;limit=5000"},
		{name: "unknown channel is stdout", target: "/tail.html?processname=p&channel=bogus", log: "out\n", errLog: "oops\n",
			wantPre: "out\n", wantHref: "tail.html?processname=p&amp;limit=1024"},
		{name: "no process name", target: "/tail.html", log: "x", wantPre: "No process name found"},
		{name: "blank process name", target: "/tail.html?processname=", log: "x", wantPre: "No process name found"},
		{name: "unknown process", target: "/tail.html?processname=zz", log: "x",
			wantPre:  "ERROR: unexpected rpc fault [10] BAD_NAME: zz",
			wantHref: "tail.html?processname=zz&amp;limit=1024"},
		{name: "no log file", target: "/tail.html?processname=p", log: "-",
			wantPre: "No file for p", wantHref: "tail.html?processname=p&amp;limit=1024"},
		{name: "invalid utf-8 and cut character", target: "/tail.html?processname=p", log: "\xa9t\xff\xfeok\n",
			wantPre: "\uFFFDt\uFFFDok\n", wantHref: "tail.html?processname=p&amp;limit=1024"},
		{name: "terminal colours stripped", target: "/tail.html?processname=p", log: "\x1b[31mred\x1b[0m plain\n",
			wantPre: "red plain\n", wantHref: "tail.html?processname=p&amp;limit=1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newFakeBackend(t, fakeProc{group: "p", name: "p", state: protocol.StateRunning, log: tt.log, errLog: tt.errLog})
			resp, body := do(t, newTestHandler(b), http.MethodGet, tt.target, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := preContent(t, body); got != tt.wantPre {
				t.Errorf("pre\n got %q\nwant %q", got, tt.wantPre)
			}
			hasHref := strings.Contains(body, `id="refresh_anchor" href="`+tt.wantHref+`"`)
			if tt.wantHref != "" && !hasHref {
				t.Errorf("no refresh link %q", tt.wantHref)
			}
			if tt.wantHref == "" && strings.Contains(body, "refresh_anchor") {
				t.Error("refresh link without a process")
			}
		})
	}
}

func TestTailMissingFileOnDisk(t *testing.T) {
	b := newFakeBackend(t, fakeProc{group: "p", name: "p", state: protocol.StateRunning, log: "x"})
	b.logs["p"] += ".gone"
	_, body := do(t, newTestHandler(b), http.MethodGet, "/tail.html?processname=p", nil)
	if got := preContent(t, body); got != "No file for p" {
		t.Errorf("pre %q", got)
	}
}

func TestTailByPOST(t *testing.T) {
	b := newFakeBackend(t, fakeProc{group: "g", name: "p", state: protocol.StateRunning, log: "from post\n"})
	_, body := do(t, newTestHandler(b), http.MethodPost, "/tail.html", url.Values{"processname": {"g:p"}})
	if got := preContent(t, body); got != "from post\n" {
		t.Errorf("pre %q", got)
	}
}

// preContent returns the text of the page's log <pre>.
func preContent(t *testing.T, body string) string {
	t.Helper()
	start := strings.Index(body, `<pre id="tailbody"`)
	if start < 0 {
		t.Fatalf("no tail <pre> in page:\n%s", body)
	}
	rest := body[start:]
	rest = rest[strings.IndexByte(rest, '>')+1:]
	return rest[:strings.Index(rest, "</pre>")]
}

// TestXSS: names, descriptions, log text and messages are shown as text.
func TestXSS(t *testing.T) {
	const evil = `<script>alert("x")</script>`
	b := newFakeBackend(t, fakeProc{group: evil, name: evil + "&", state: protocol.StateRunning, log: "out " + evil + "\n"})
	ns := namespec(evil, evil+"&")
	b.procs[ns].State, b.procs[ns].SpawnErr = protocol.StateFatal, "desc "+evil
	h := newTestHandler(b)
	pages := []string{
		"/",
		"/?message=" + url.QueryEscape(evil),
		"/tail.html?processname=" + url.QueryEscape(ns),
		"/tail.html?processname=" + url.QueryEscape(evil),
	}
	for _, target := range pages {
		t.Run(target, func(t *testing.T) {
			_, body := do(t, h, http.MethodGet, target, nil)
			if strings.Contains(body, "<script>alert") {
				t.Errorf("unescaped script in page:\n%s", body)
			}
			if !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
				t.Errorf("escaped text missing from page:\n%s", body)
			}
		})
	}
	// The action's message names the process; it travels quoted in the URL.
	resp, _ := do(t, h, http.MethodGet, "/?action=stop&processname="+url.QueryEscape(ns), nil)
	if loc := resp.Header.Get("Location"); strings.ContainsAny(loc, `<>" `) {
		t.Errorf("Location not quoted: %s", loc)
	}
}

func TestStaticFiles(t *testing.T) {
	tests := []struct{ path, wantType, wantPart string }{
		{"/stylesheets/supervisor.css", "text/css; charset=utf-8", ".badge"},
		{"/scripts/supervisor.js", "text/javascript; charset=utf-8", "use strict"},
		{"/images/icon.svg", "image/svg+xml", "<svg"},
	}
	h := newTestHandler(threeProcs(t))
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := do(t, h, http.MethodGet, tt.path, nil)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tt.wantType {
				t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if !strings.Contains(body, tt.wantPart) {
				t.Errorf("body lacks %q", tt.wantPart)
			}
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotModified {
				t.Errorf("conditional GET: status %d, want 304", rec.Code)
			}
			head, headBody := do(t, h, http.MethodHead, tt.path, nil)
			if head.StatusCode != http.StatusOK || headBody != "" {
				t.Errorf("HEAD: status %d, body %d bytes", head.StatusCode, len(headBody))
			}
		})
	}
}

func TestPythonQuote(t *testing.T) {
	// Expected values printed by Python's urllib.parse.quote.
	tests := []struct{ in, want string }{
		{"Process grp:cat2 stopped", "Process%20grp%3Acat2%20stopped"},
		{"a b/c?d=e&f+g%h~i_j.k-l", "a%20b/c%3Fd%3De%26f%2Bg%25h~i_j.k-l"},
		{"<script>é", "%3Cscript%3E%C3%A9"},
		{"Page refreshed at Mon Nov 30 04:35:08 2026", "Page%20refreshed%20at%20Mon%20Nov%2030%2004%3A35%3A08%202026"},
	}
	for _, tt := range tests {
		if got := pythonQuote(tt.in); got != tt.want {
			t.Errorf("pythonQuote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNewHandlerDefaults(t *testing.T) {
	h := New(threeProcs(t), Options{})
	resp, body := do(t, h, http.MethodGet, "/?action=refresh", nil)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	msg := loc.Query().Get("message")
	stamp, err := time.ParseInLocation(ctimeLayout, strings.TrimPrefix(msg, "Page refreshed at "), time.Local)
	if err != nil {
		t.Fatalf("message %q: %v (body %q)", msg, err, body)
	}
	if d := time.Since(stamp); d < -time.Second || d > time.Minute {
		t.Errorf("refresh stamped %v, now is %v", stamp, time.Now())
	}
	if _, body := do(t, h, http.MethodGet, "/", nil); !strings.Contains(body, protocol.Version) {
		t.Error("default version not shown")
	}
}

// waitingBackend's StopProcess waits, as a real stop does, until its
// context ends.
type waitingBackend struct {
	*fakeBackend
	entered, returned chan struct{}
}

func (b *waitingBackend) StopProcess(ctx context.Context, name string, wait bool) error {
	close(b.entered)
	<-ctx.Done()
	close(b.returned)
	return ctx.Err()
}

// TestActionWaitEndsWithClient: a browser that gives up on a long stop
// cancels the wait instead of leaving it hanging in the daemon.
func TestActionWaitEndsWithClient(t *testing.T) {
	b := &waitingBackend{fakeBackend: threeProcs(t), entered: make(chan struct{}), returned: make(chan struct{})}
	srv := httptest.NewServer(newTestHandler(b))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/?action=stop&processname=web", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case <-b.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("stop never reached the backend")
	}
	cancel()
	select {
	case <-b.returned:
	case <-time.After(10 * time.Second):
		t.Fatal("the stop kept waiting after the client left")
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("client error %v, want context.Canceled", err)
	}
}

func TestFollow(t *testing.T) {
	long := strings.Repeat("x", 5000) + "tail\n"
	tests := []struct {
		name       string
		log        string
		query      string
		wantStatus int
		wantBody   string
		wantOffset string
		wantReset  bool
	}{
		{name: "from start", log: "one\ntwo\n", query: "processname=p&offset=0",
			wantStatus: 200, wantBody: "one\ntwo\n", wantOffset: "8"},
		{name: "only what is new", log: "one\ntwo\n", query: "processname=p&offset=4",
			wantStatus: 200, wantBody: "two\n", wantOffset: "8"},
		{name: "nothing new", log: "one\ntwo\n", query: "processname=p&offset=8",
			wantStatus: 200, wantBody: "", wantOffset: "8"},
		{name: "truncated log resets", log: "one\n", query: "processname=p&offset=100",
			wantStatus: 200, wantBody: "one\n", wantOffset: "4", wantReset: true},
		{name: "no offset resets", log: "one\n", query: "processname=p",
			wantStatus: 200, wantBody: "one\n", wantOffset: "4", wantReset: true},
		{name: "far behind resets to the last limit bytes", log: long, query: "processname=p&offset=0&limit=2000",
			wantStatus: 200, wantBody: long[len(long)-2000:], wantOffset: "5005", wantReset: true},
		{name: "cut character waits for its end", log: "ab\xc3", query: "processname=p&offset=0",
			wantStatus: 200, wantBody: "ab", wantOffset: "2"},
		{name: "invalid bytes shown as U+FFFD", log: "a\xffb", query: "processname=p&offset=0",
			wantStatus: 200, wantBody: "a\uFFFDb", wantOffset: "3"},
		{name: "stderr", log: "out\n", query: "processname=p&channel=stderr&offset=0",
			wantStatus: 404, wantBody: "No file for p\n"},
		{name: "unknown process", log: "out\n", query: "processname=zz&offset=0",
			wantStatus: 404, wantBody: "ERROR: unexpected rpc fault [10] BAD_NAME: zz\n"},
		{name: "no process name", log: "out\n", query: "offset=0",
			wantStatus: 400, wantBody: "No process name found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newFakeBackend(t, fakeProc{group: "p", name: "p", state: protocol.StateRunning, log: tt.log})
			resp, body := do(t, newTestHandler(b), http.MethodGet, "/tail.txt?"+tt.query, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if body != tt.wantBody {
				t.Errorf("body %q, want %q", body, tt.wantBody)
			}
			if tt.wantStatus != 200 {
				return
			}
			if got := resp.Header.Get("X-Log-Offset"); got != tt.wantOffset {
				t.Errorf("X-Log-Offset %q, want %q", got, tt.wantOffset)
			}
			if got := resp.Header.Get("X-Log-Reset") == "1"; got != tt.wantReset {
				t.Errorf("X-Log-Reset %v, want %v", got, tt.wantReset)
			}
			if got := resp.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
		})
	}
}

// TestFollowCompletesCutCharacter: the bytes held back at a cut
// character come with the next read, so the character arrives whole.
func TestFollowCompletesCutCharacter(t *testing.T) {
	b := newFakeBackend(t, fakeProc{group: "p", name: "p", state: protocol.StateRunning, log: "caf\xc3"})
	h := newTestHandler(b)
	_, page := do(t, h, http.MethodGet, "/tail.html?processname=p", nil)
	if !strings.Contains(page, `data-offset="3"`) || preContent(t, page) != "caf" {
		t.Fatalf("page does not stop before the cut character:\n%s", page)
	}
	b.appendLog(t, "p", "\xa9!\n")
	resp, body := do(t, h, http.MethodGet, "/tail.txt?processname=p&offset=3", nil)
	if body != "é!\n" || resp.Header.Get("X-Log-Offset") != "7" {
		t.Errorf("follow gave %q up to %s", body, resp.Header.Get("X-Log-Offset"))
	}
}

func TestSummarize(t *testing.T) {
	info := func(state protocol.ProcessState) engine.ProcessStatus { return engine.ProcessStatus{State: state} }
	tests := []struct {
		name  string
		infos []engine.ProcessStatus
		want  []summaryItem
	}{
		{name: "none", infos: nil, want: nil},
		{name: "running first, then problems, stopped last", infos: []engine.ProcessStatus{
			info(protocol.StateStopped), info(protocol.StateUnknown), info(protocol.StateRunning),
			info(protocol.StateFatal), info(protocol.StateRunning), info(protocol.StateBackoff),
		}, want: []summaryItem{{"running", 2}, {"backoff", 1}, {"fatal", 1}, {"stopped", 1}, {"unknown", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.infos); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("summarize = %v, want %v", got, tt.want)
			}
		})
	}
}
