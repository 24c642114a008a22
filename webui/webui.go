// Package webui serves supervisord's web interface: the status page
// ("/", "/index.html") with its per-process and global actions, the tail
// page ("/tail.html"), the text its follow mode polls ("/tail.txt") and
// the static files they use.
//
// URLs, query parameters (processname, action, message, limit) and the
// messages shown after an action follow Supervisor 4.2.5, so bookmarks and
// scripts written against the reference keep working. Every action works
// as a plain form or link; the embedded script only adds live updates.
//
// The handler does no authentication: the rpc package mounts it behind the
// same Basic auth as every other path of the HTTP server.
package webui

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/engine"
)

// maxFormBytes bounds a POSTed form: the UI's forms hold two short fields.
const maxFormBytes = 64 << 10

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Backend is what the web UI needs from the daemon. supervisord's
// *engine.Engine satisfies it.
type Backend interface {
	State() protocol.SupervisorState
	Identification() string
	// Processes is every process, by group then name.
	Processes() ([]engine.ProcessStatus, error)
	Process(name string) (engine.ProcessStatus, error)
	StartProcess(ctx context.Context, name string, wait bool) error
	StopProcess(ctx context.Context, name string, wait bool) error
	StartAllProcesses(ctx context.Context, wait bool) ([]engine.Outcome, error)
	StopAllProcesses(ctx context.Context, wait bool) ([]engine.Outcome, error)
	ClearProcessLogs(name string) error
	// LogFile is a process channel's current log file, "" when none.
	LogFile(name string, ch protocol.Channel) (string, error)
	// Resources is every process with its tree's CPU and memory, from a
	// sample at most maxAge old (taken off the engine's loop).
	Resources(maxAge time.Duration) ([]engine.ProcessResources, error)
	// ProcessExits are a process's last exits, newest first.
	ProcessExits(name string) ([]engine.ExitRecord, error)
}

// Options tunes a Handler. The zero value is ready to use.
type Options struct {
	// Version is shown in the footer; "" means protocol.Version, what
	// getSupervisorVersion reports.
	Version string
	// Now is the clock of "Page refreshed at ..." style messages and of
	// uptimes (network deadlines always use the real clock); nil means
	// time.Now.
	Now func() time.Time
	// Fault is the XML-RPC fault a client would get for err (code and
	// text): the messages after an action are worded from it, as the
	// reference's UI words the faults of its RPC calls. supervisord passes
	// the rpc package's mapping; nil words every error as FAILED.
	Fault func(err error) (protocol.FaultCode, string)
}

// Handler serves the web UI over a Backend. It is safe for concurrent use.
type Handler struct {
	// cop tells the actions a browser sent from a page of another site.
	cop     *http.CrossOriginProtection
	backend Backend
	version string
	now     func() time.Time
	fault   func(error) (protocol.FaultCode, string)
	pages   *template.Template
	static  map[string]staticFile
}

// staticFile is one embedded asset, served with a content-derived ETag.
type staticFile struct {
	body        []byte
	contentType string
	etag        string
}

// New returns the web UI for b.
func New(b Backend, opts Options) *Handler {
	h := &Handler{
		cop:     http.NewCrossOriginProtection(),
		backend: b,
		version: opts.Version,
		now:     opts.Now,
		fault:   opts.Fault,
		pages:   template.Must(template.New("").Funcs(templateFuncs()).ParseFS(templateFS, "templates/*.html")),
		static:  loadStatic(),
	}
	if h.version == "" {
		h.version = protocol.Version
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.fault == nil {
		h.fault = func(err error) (protocol.FaultCode, string) {
			return protocol.FaultFailed, protocol.FaultString(protocol.FaultFailed, err.Error())
		}
	}
	return h
}

// staticTypes maps the extensions of embedded assets to their media type.
var staticTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".svg": "image/svg+xml",
}

// loadStatic indexes the embedded assets by URL path. The embedded
// tree is fixed at build time, so a failure here is a build defect.
func loadStatic() map[string]staticFile {
	files := map[string]staticFile{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		files[strings.TrimPrefix(p, "static")] = staticFile{
			body:        body,
			contentType: staticTypes[path.Ext(p)],
			etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
		}
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("webui: embedded static files: %v", err))
	}
	return files
}

// ServeHTTP routes the UI's paths; anything else is 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/", "/index.html":
		if !allowMethods(w, r, http.MethodGet, http.MethodPost) {
			return
		}
		h.serveStatus(w, r)
	case "/tail.html":
		if !allowMethods(w, r, http.MethodGet, http.MethodPost) {
			return
		}
		h.serveTail(w, r)
	case "/tail.txt":
		if !allowMethods(w, r, http.MethodGet) {
			return
		}
		h.serveFollow(w, r)
	case "/exits.html":
		if !allowMethods(w, r, http.MethodGet) {
			return
		}
		h.serveExits(w, r)
	default:
		f, ok := h.static[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		serveStatic(w, r, f)
	}
}

// allowMethods answers 405 unless r uses one of methods.
func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

func serveStatic(w http.ResponseWriter, r *http.Request, f staticFile) {
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("ETag", f.etag)
	hdr.Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Length", fmt.Sprint(len(f.body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(f.body)
}

// setNoCache sets the headers the reference sends with every UI page, so
// neither pages nor the redirects after actions are ever cached.
func setNoCache(hdr http.Header) {
	hdr.Set("Pragma", "no-cache")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Expires", "Thu, 01 Jan 1970 00:00:00 GMT")
}

// setPageHeaders sets the headers of every page and redirect: the
// reference's no-cache ones, and a policy that no site may frame the
// page (a framed, hidden Stop button under a decoy is clickjacking).
func setPageHeaders(hdr http.Header) {
	setNoCache(hdr)
	hdr.Set("Content-Security-Policy", "frame-ancestors 'none'")
}

// render writes a page from the named template. The template runs into a
// buffer first so that a template error becomes a clean 500.
func (h *Handler) render(w http.ResponseWriter, name string, data any) {
	var buf strings.Builder
	if err := h.pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, fmt.Sprintf("webui: render %s: %v", name, err), http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html;charset=utf-8")
	setPageHeaders(hdr)
	_, _ = w.Write([]byte(buf.String()))
}

// crossSite reports an action a browser sent from a page of another
// site, by the rule net/http.CrossOriginProtection applies to unsafe
// methods: the UI's actions also come as GET links (as in the
// reference), which the protection itself lets through as safe, and an
// <img> on any page could follow them.
func (h *Handler) crossSite(r *http.Request) error {
	asUnsafe := *r
	asUnsafe.Method = http.MethodPost
	return h.cop.Check(&asUnsafe)
}

// parseForm merges query and urlencoded body as the reference does: a
// value in the body wins over the same key in the query.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("webui: parse form: %w", err)
	}
	return nil
}

// templateFuncs are the helpers the page templates call.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		// quote escapes a namespec for a URL path segment ("g:p" → "g%3Ap"),
		// as the reference builds its logtail links.
		"quote": pythonQuote,
		// size words a byte count for the tail length choices.
		"size": func(n int) string {
			if n >= 1<<20 {
				return fmt.Sprintf("%d MB", n>>20)
			}
			return fmt.Sprintf("%d KB", n>>10)
		},
	}
}
