package supervisord

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// pprofEnv names the environment variable that turns on a debug profiler:
// GOSUPERVISOR_PPROF=127.0.0.1:6060 serves net/http/pprof on that address
// (port 0 picks a free one). It exists for leak hunting (the soak test reads
// goroutine counts and heap figures through it) and changes nothing when
// unset: no public API, no config key, no main-log line.
const pprofEnv = "GOSUPERVISOR_PPROF"

// startPprof serves net/http/pprof on the address named by
// GOSUPERVISOR_PPROF when it is set and this process runs the engine (the
// parent half of a daemonize must not hold the port its daemon half binds).
// It announces the bound address on stderr, removes the variable so the
// programs we spawn do not inherit it, and returns the function that stops
// the server. A bind error is reported on stderr and ignored: a debug aid
// never stops the daemon.
func startPprof(stderr io.Writer, runsEngine bool) (stop func()) {
	addr := os.Getenv(pprofEnv)
	if addr == "" || !runsEngine {
		return func() {}
	}
	_ = os.Unsetenv(pprofEnv)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", pprofEnv, err)
		return func() {}
	}
	// Our own mux: the handlers net/http/pprof registers on
	// http.DefaultServeMux are served nowhere.
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "%s: serving http://%s/debug/pprof/\n", pprofEnv, ln.Addr())
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }
}
