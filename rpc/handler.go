package rpc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"gosupervisor/internal/protocol"
)

// Defaults for HandlerOptions fields left zero.
const (
	DefaultMaxBodyBytes     = 4 << 20
	DefaultMaxConcurrentRPC = 64
	DefaultMaxLogTails      = 64
	DefaultWriteTimeout     = 30 * time.Second
)

// smallBodyBytes is the size up to which a request body is read without
// taking a slot: every call the stock clients make is far smaller.
const smallBodyBytes = 64 << 10

// maxPooledResponse is the largest response buffer kept for reuse:
// getAllProcessInfo of 500 programs is about 600 KB, and growing such a
// buffer afresh on every call cost more than encoding into it.
const maxPooledResponse = 4 << 20

// HandlerOptions configures NewHandler. Zero values mean the defaults.
type HandlerOptions struct {
	// Username and Password enable HTTP Basic auth on every path when
	// Username is set. Password is cleartext or "{SHA}" + SHA-1 hex.
	Username string
	Password string
	// CheckHost, for a server reachable over TCP, refuses requests whose
	// Host header names neither localhost, an IP address nor one of
	// LocalNames (this machine's names) while no Username is set: a page
	// whose name an attacker points at this machine's address (DNS
	// rebinding) sends its own name. A browser cannot reach a unix
	// socket, and with authentication such a page lacks the credentials.
	CheckHost  bool
	LocalNames []string
	// UI serves "/", "/index.html", "/tail.html" and static files; nil
	// answers 404 there.
	UI http.Handler
	// Metrics serves "/metrics" (Prometheus, [supervisord] metrics=true)
	// behind the same authentication; nil leaves the path to UI, as
	// before.
	Metrics http.Handler
	// Log receives main-log lines (invalid requests at ERROR, each call at
	// TRACE) at or above LogLevel. Nil discards them.
	Log      func(level protocol.Level, msg string)
	LogLevel protocol.Level
	// MaxBodyBytes bounds an XML-RPC request body (larger → 413).
	MaxBodyBytes int64
	// MaxConcurrentRPC bounds the large request bodies (over
	// smallBodyBytes) being read and decoded at once; more wait for a
	// slot. Ordinary calls never wait, so slow senders of big bodies
	// cannot stall them.
	MaxConcurrentRPC int
	// MaxMulticallResponse bounds the encoded results of one
	// system.multicall (see DefaultMaxMulticallResponse).
	MaxMulticallResponse int64
	// MaxLogTails bounds open /logtail and /mainlogtail streams (more → 503).
	MaxLogTails int
	// WriteTimeout bounds each write to a client, so one that stops
	// reading is dropped instead of holding a goroutine forever.
	WriteTimeout time.Duration
	// Now is the clock getProcessInfo reports and measures uptimes with;
	// nil means time.Now.
	Now func() time.Time
	// Upgrader runs gosupervisor.upgrade; nil faults FAILED there.
	Upgrader Upgrader
	// EndStreams, once done, ends every /logtail and /mainlogtail
	// stream cleanly (a handover does it); nil never does.
	EndStreams context.Context
}

// handler serves XML-RPC, log tails, the health check and the UI.
type handler struct {
	opts     HandlerOptions
	logFiles processLogs // for the /logtail and /mainlogtail streams
	disp     *dispatcher
	rpcSlots chan struct{}
	bufs     sync.Pool // *[]byte response buffers
	tails    chan struct{}
	// xmlType is the Content-Type header value, shared by every response
	// (net/http copies header values and never modifies them).
	xmlType []string
}

// NewHandler returns the HTTP handler of one supervisord HTTP server;
// the same handler serves unix and inet listeners.
//
// Endpoints: POST /RPC2… (XML-RPC), GET /logtail/<namespec>[/stdout|
// /stderr] and GET /mainlogtail (endless chunked streams), /ok.html
// ("OK"), and the UI for everything else. Every path is behind Guard:
// Basic auth, cross-site and DNS-rebinding checks, nosniff.
func NewHandler(b Backend, opts HandlerOptions) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxConcurrentRPC <= 0 {
		opts.MaxConcurrentRPC = DefaultMaxConcurrentRPC
	}
	if opts.MaxLogTails <= 0 {
		opts.MaxLogTails = DefaultMaxLogTails
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	disp := newDispatcher(b, opts.Now, opts.Upgrader)
	if opts.MaxMulticallResponse > 0 {
		disp.maxMulticall = opts.MaxMulticallResponse
	}
	return Guard(&handler{
		opts:     opts,
		logFiles: b,
		disp:     disp,
		rpcSlots: make(chan struct{}, opts.MaxConcurrentRPC),
		tails:    make(chan struct{}, opts.MaxLogTails),
		bufs:     sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }},
		xmlType:  []string{"text/xml"},
	}, opts)
}

func (h *handler) log(level protocol.Level, format string, args ...any) {
	if h.logs(level) {
		h.opts.Log(level, fmt.Sprintf(format, args...))
	}
}

// logs reports whether lines at level are wanted; callers on the hot path
// ask first, since merely passing arguments to log allocates.
func (h *handler) logs(level protocol.Level) bool {
	return h.opts.Log != nil && level >= h.opts.LogLevel
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/RPC2"):
		h.serveRPC(w, r)
	case strings.HasPrefix(path, "/logtail/"):
		h.serveProcessTail(w, r, strings.TrimPrefix(path, "/logtail/"))
	case path == "/mainlogtail":
		h.serveMainTail(w, r)
	case path == "/ok.html":
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "2")
		io.WriteString(w, "OK")
	case path == "/metrics" && h.opts.Metrics != nil:
		h.opts.Metrics.ServeHTTP(w, r)
	case h.opts.UI != nil:
		h.opts.UI.ServeHTTP(w, r)
	default:
		httpError(w, http.StatusNotFound)
	}
}

// httpError answers an HTML error page like the reference's.
func httpError(w http.ResponseWriter, code int) {
	text := http.StatusText(code)
	body := fmt.Sprintf("<html><head><title>Error response</title></head><body>"+
		"<h1>Error response</h1><p>Error code %d.</p><p>Message: %s.</p></body></html>", code, text)
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(code)
	io.WriteString(w, body)
}

func (h *handler) serveRPC(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method != http.MethodPost:
		httpError(w, http.StatusBadRequest)
		return
	case r.ContentLength < 0:
		httpError(w, http.StatusLengthRequired)
		return
	case r.ContentLength == 0:
		httpError(w, http.StatusBadRequest)
		return
	case r.ContentLength > h.opts.MaxBodyBytes:
		h.log(protocol.LevelError, "XML-RPC request of %d bytes refused: the limit is %d", r.ContentLength, h.opts.MaxBodyBytes)
		httpError(w, http.StatusRequestEntityTooLarge)
		return
	}
	ctx := r.Context()
	large := r.ContentLength > smallBodyBytes
	if large {
		select {
		case h.rpcSlots <- struct{}{}:
		case <-ctx.Done():
			return
		}
	}
	body := make([]byte, r.ContentLength)
	_, readErr := io.ReadFull(r.Body, body)
	var method string
	var params []any
	var decodeErr error
	if readErr == nil {
		if method, params, decodeErr = DecodeRequest(body); decodeErr != nil {
			h.log(protocol.LevelError, "XML-RPC request data %s is invalid: %v", quoteBounded(body), decodeErr)
		}
	}
	if large {
		<-h.rpcSlots
	}
	switch {
	case readErr != nil: // the client sent less than it announced
		httpError(w, http.StatusBadRequest)
	case decodeErr != nil:
		h.writeXML(w, EncodeFault(NewFault(protocol.FaultIncorrectParameters, decodeErr.Error())))
	default:
		out := h.call(ctx, method, params)
		h.writeXML(w, out)
		h.release(out)
	}
}

// call runs one XML-RPC call and returns the response document.
func (h *handler) call(ctx context.Context, method string, params []any) []byte {
	trace := h.logs(protocol.LevelTrace)
	if trace {
		h.log(protocol.LevelTrace, "XML-RPC method called: %s()", method)
	}
	v, fault := h.disp.call(ctx, method, params)
	if fault == nil {
		out, err := h.encodeResult(v)
		if err == nil {
			if trace {
				h.log(protocol.LevelTrace, "XML-RPC method %s() returned successfully", method)
			}
			return out
		}
		fault = NewFault(protocol.FaultFailed, err.Error())
	}
	if trace {
		h.log(protocol.LevelTrace, "XML-RPC method %s() returned fault: [%d] %s", method, fault.Code, fault.String)
	}
	return EncodeFault(fault)
}

// encodeResult is the response document for a method's value, in a
// pooled buffer; a multicall's results come encoded (see budget.go).
func (h *handler) encodeResult(v any) ([]byte, error) {
	if doc, ok := v.(*encodedArray); ok {
		return doc.document(), nil
	}
	bp := h.bufs.Get().(*[]byte)
	out, err := appendResponse((*bp)[:0], v)
	if err != nil {
		h.bufs.Put(bp)
	}
	return out, err
}

// release returns a response buffer to the pool once it is written;
// very large ones are left to the garbage collector.
func (h *handler) release(buf []byte) {
	if cap(buf) <= maxPooledResponse {
		h.bufs.Put(&buf)
	}
}

func (h *handler) writeXML(w http.ResponseWriter, body []byte) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
	// Direct map writes: Header.Set canonicalizes and allocates per call.
	hdr := w.Header()
	hdr["Content-Type"] = h.xmlType
	hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.Write(body)
}

// quoteBounded quotes at most 200 bytes of a request for the log, so a
// huge body is never logged whole.
func quoteBounded(b []byte) string {
	const limit = 200
	if len(b) > limit {
		return fmt.Sprintf("%q… (%d bytes)", b[:limit], len(b))
	}
	return fmt.Sprintf("%q", b)
}
