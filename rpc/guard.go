package rpc

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"gosupervisor/internal/protocol"
)

// guard holds the checks every request to a supervisord HTTP server
// passes before it reaches a path: response headers no browser may
// reinterpret, browser requests sent by pages of other sites, Host names
// of DNS-rebinding pages, and Basic auth.
//
// A web page the operator visits can make the browser send requests to
// the daemon: a form or a fetch POST (an XML-RPC call in a text/plain
// body is a "simple" request, sent without asking), an image whose URL
// is a UI action. Browsers say where such a request comes from in
// Sec-Fetch-Site (since 2023 in all of them) or at least in Origin; the
// clients that speak to supervisord on purpose (supervisorctl, XML-RPC
// libraries, curl) send neither, and pass unchanged.
type guard struct {
	next http.Handler
	opts HandlerOptions
	// cop refuses unsafe methods sent by pages of other origins.
	cop *http.CrossOriginProtection
	// nosniff is the X-Content-Type-Options value, shared by every
	// response (net/http copies header values and never modifies them).
	nosniff []string
}

// Guard wraps next in the checks of a supervisord HTTP server, as
// NewHandler does for its paths: it sets "X-Content-Type-Options:
// nosniff" on every response; refuses (403) a POST or other unsafe
// request a browser sent from a page of another origin (the rule of
// net/http.CrossOriginProtection); refuses (403), when opts has no
// Username and CheckHost is set, a Host that names neither localhost, an
// IP address nor one of opts.LocalNames; and asks for Basic auth (401)
// when opts has a Username. Refusals are logged at WARN through opts.Log.
func Guard(next http.Handler, opts HandlerOptions) http.Handler {
	return &guard{
		next:    next,
		opts:    opts,
		cop:     http.NewCrossOriginProtection(),
		nosniff: []string{"nosniff"},
	}
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header()["X-Content-Type-Options"] = g.nosniff
	if err := g.cop.Check(r); err != nil {
		g.refuse(w, r, "sent by a page of another site ("+err.Error()+")")
		return
	}
	if g.opts.CheckHost && g.opts.Username == "" && !localHost(r.Host, g.opts.LocalNames) {
		g.refuse(w, r, "for Host "+clip(r.Host)+", which names neither this machine nor an IP address (a DNS-rebinding page?)")
		return
	}
	if !g.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="default"`)
		httpError(w, http.StatusUnauthorized)
		return
	}
	g.next.ServeHTTP(w, r)
}

// refuse answers 403 and logs why.
func (g *guard) refuse(w http.ResponseWriter, r *http.Request, why string) {
	if g.opts.Log != nil && protocol.LevelWarn >= g.opts.LogLevel {
		g.opts.Log(protocol.LevelWarn, "HTTP request refused: "+r.Method+" "+clip(r.URL.Path)+" "+why)
	}
	httpError(w, http.StatusForbidden)
}

// authorized checks Basic credentials in constant time; a missing or
// malformed Authorization header is simply unauthorized.
func (g *guard) authorized(r *http.Request) bool {
	if g.opts.Username == "" {
		return true
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(g.opts.Username)) == 1
	want := g.opts.Password
	if hexWant, isSHA := strings.CutPrefix(want, "{SHA}"); isSHA {
		sum := sha1.Sum([]byte(pass))
		got := hex.EncodeToString(sum[:])
		return userOK && subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(hexWant))) == 1
	}
	return userOK && subtle.ConstantTimeCompare([]byte(pass), []byte(want)) == 1
}

// localHost reports whether a Host header value (with or without a port)
// is one a DNS-rebinding page cannot send: empty (a client that sent
// none), an IP address, localhost, or one of names (this machine's
// names), compared without case and trailing dot.
func localHost(host string, names []string) bool {
	if host == "" {
		return true
	}
	h := host
	if hostOnly, _, err := net.SplitHostPort(host); err == nil {
		h = hostOnly
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	h = strings.TrimSuffix(h, ".")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	for _, n := range names {
		if n != "" && strings.EqualFold(h, strings.TrimSuffix(n, ".")) {
			return true
		}
	}
	return false
}
