package supervisord

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gosupervisor/config"
	"gosupervisor/rpc"
)

// pprofEnv names the environment variable that turns on a debug profiler:
// GOSUPERVISOR_PPROF=127.0.0.1:6060 serves net/http/pprof on that address
// (port 0 picks a free one), GOSUPERVISOR_PPROF=unix:/path/sock (or just
// an absolute path) on a unix socket made as the RPC socket is, mode
// 0700. It exists for leak hunting (the soak test reads goroutine counts
// and heap figures through it) and changes nothing when unset: no public
// API, no config key, no main-log line.
//
// Profiles show the daemon's command line, memory and stacks and a CPU
// profile costs CPU, so it is served only where the RPC servers' own
// rules reach: on a loopback address or a unix socket (any other address
// is refused, on stderr), behind the same checks as the RPC servers
// (Basic auth with the credentials of the [unix_http_server], or of the
// [inet_http_server] when the former has none; Host names of
// DNS-rebinding pages refused when neither has any; nosniff).
const pprofEnv = "GOSUPERVISOR_PPROF"

// startPprof serves net/http/pprof on the address named by
// GOSUPERVISOR_PPROF when it is set and this process runs the engine (the
// parent half of a daemonize must not hold the port its daemon half binds).
// It announces the bound address on stderr, removes the variable so the
// programs we spawn do not inherit it, and returns the function that stops
// the server. A refused address or a bind error is reported on stderr and
// ignored: a debug aid never stops the daemon.
func startPprof(stderr io.Writer, runsEngine bool, cfg *config.Config) (stop func()) {
	addr := os.Getenv(pprofEnv)
	if addr == "" || !runsEngine {
		return func() {}
	}
	_ = os.Unsetenv(pprofEnv)
	ln, where, err := listenPprof(addr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v; /debug/pprof is not served\n", pprofEnv, err)
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
	user, password := pprofCredentials(cfg)
	srv := &http.Server{Handler: rpc.Guard(mux, rpc.HandlerOptions{
		Username:  user,
		Password:  password,
		CheckHost: true,
	}), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "%s: serving %s/debug/pprof/\n", pprofEnv, where)
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }
}

// listenPprof opens addr if it is a loopback host:port or a unix socket
// path, and says where it serves ("http://host:port" or "unix:path").
func listenPprof(addr string) (net.Listener, string, error) {
	if path, isUnix := strings.CutPrefix(addr, "unix:"); isUnix || filepath.IsAbs(addr) {
		if !isUnix {
			path = addr
		}
		ln, err := rpc.ListenUnix(config.UnixHTTPServer{File: path, Chmod: 0o700, ChownUID: -1, ChownGID: -1}, rpc.UnixOptions{})
		if err != nil {
			return nil, "", err
		}
		return ln, "unix:" + path, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", err
	}
	if ip, err := netip.ParseAddr(host); (err != nil || !ip.IsLoopback()) && host != "localhost" {
		return nil, "", fmt.Errorf("%s is neither a loopback address nor a unix socket path", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	return ln, "http://" + ln.Addr().String(), nil
}

// pprofCredentials are the username and password the profiler asks for:
// the unix socket's, or the TCP server's when the socket has none.
func pprofCredentials(cfg *config.Config) (user, password string) {
	for _, s := range cfg.UnixHTTPServers {
		if s.Username != "" {
			return s.Username, s.Password
		}
	}
	for _, s := range cfg.InetHTTPServers {
		if s.Username != "" {
			return s.Username, s.Password
		}
	}
	return "", ""
}
