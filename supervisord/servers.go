package supervisord

import (
	"context"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/metrics"
	"gosupervisor/rpc"
	"gosupervisor/supervisord/engine"
	"gosupervisor/webui"
)

// stockRPCFactory is the factory of the stock [rpcinterface:supervisor]
// section; it is the only RPC interface we implement.
const stockRPCFactory = "supervisor.rpcinterface:make_main_rpcinterface"

// httpServers are the running HTTP servers of one engine life.
type httpServers struct {
	servers []*rpc.Server
	// cancel ends every request's context (endless /logtail streams,
	// calls still waiting for a process).
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// openServers binds every configured server, inet ones first then unix
// ones as the reference orders them, and serves eng on each. It logs
// the reference's per-server lines: one INFO per RPC interface, and CRIT
// when the server has no authentication. A bind error is a startup error
// with the reference's text; a stale unix socket is reported on stderr.
// bound, when set, is called after each unix socket is bound (a test
// hook).
func openServers(cfg *config.Config, eng *engine.Engine, log mainLogger, stderr io.Writer, bound func(path string)) (*httpServers, error) {
	ctx, cancel := context.WithCancel(context.Background())
	hs := &httpServers{cancel: cancel}
	type server struct {
		section            string
		username, password string
		// localNames is set for TCP servers: the names of this machine
		// a browser may send as Host without authentication.
		localNames []string
		listen     func() (net.Listener, error)
	}
	var all []server
	for _, s := range cfg.InetHTTPServers {
		all = append(all, server{s.Section, s.Username, s.Password, localNames(s),
			func() (net.Listener, error) { return rpc.ListenInet(s) }})
	}
	for _, s := range cfg.UnixHTTPServers {
		all = append(all, server{s.Section, s.Username, s.Password, nil,
			func() (net.Listener, error) {
				return rpc.ListenUnix(s, rpc.UnixOptions{Report: stderr, Bound: bound})
			}})
	}
	ui := webui.New(eng, webui.Options{Fault: func(err error) (protocol.FaultCode, string) {
		f := rpc.FaultOf(err)
		return f.Code, f.String
	}})
	var metricsHandler http.Handler
	if cfg.Supervisord.Metrics {
		// Off by default: with metrics=true every server serves
		// /metrics, behind its own authentication.
		metricsHandler = metrics.Handler(eng, metrics.Options{
			Version: protocol.Version, Identifier: cfg.Supervisord.Identifier,
			NodeExporter: cfg.Supervisord.MetricsCompat == config.MetricsCompatNodeExporter,
		})
	}
	for i, s := range all {
		ln, err := s.listen()
		if err != nil {
			hs.close()
			return nil, &usageError{msg: err.Error()}
		}
		for _, ri := range cfg.RPCInterfaces {
			if ri.Factory == stockRPCFactory {
				if keys := slices.Sorted(maps.Keys(ri.Extras)); i == 0 && len(keys) > 0 {
					// The reference passes them to the factory, which
					// refuses them, and does not start; we start without.
					log.Logf(protocol.LevelWarn, "RPC interface '%s' takes no options; ignored: %s", ri.Name, strings.Join(keys, ", "))
				}
				log.Logf(protocol.LevelInfo, "RPC interface '%s' initialized", ri.Name)
			} else {
				// The reference refuses to start; we serve the stock interface and go on.
				log.Logf(protocol.LevelWarn, "RPC interface '%s' (factory %s) is not supported and was not loaded", ri.Name, ri.Factory)
			}
		}
		if s.username == "" {
			log.Logf(protocol.LevelCritical, "Server '%s' running without any HTTP authentication checking", s.section)
		}
		srv := rpc.NewServer(ctx, rpc.NewHandler(eng, rpc.HandlerOptions{
			Username:   s.username,
			Password:   s.password,
			CheckHost:  s.localNames != nil,
			LocalNames: s.localNames,
			UI:         ui,
			Metrics:    metricsHandler,
			Log:        func(level protocol.Level, msg string) { log.Logf(level, "%s", msg) },
			LogLevel:   cfg.Supervisord.LogLevel,
		}))
		hs.servers = append(hs.servers, srv)
		hs.wg.Add(1)
		go func() {
			defer hs.wg.Done()
			_ = srv.Serve(ln)
		}()
	}
	return hs, nil
}

// localNames are the names of this machine a browser may send as Host
// to a TCP server without authentication: its host name and the host
// part of port= (localhost and IP addresses always pass).
func localNames(s config.InetHTTPServer) []string {
	names := []string{}
	if h, err := os.Hostname(); err == nil {
		names = append(names, h)
	}
	if s.Host != "" {
		names = append(names, s.Host)
	}
	return names
}

// close stops accepting (closing a unix listener removes its socket
// file), lets requests already answered (a shutdown or restart reply)
// reach their clients, ends streams, and waits for every server.
func (hs *httpServers) close() {
	hs.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, srv := range hs.servers {
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	}
	hs.wg.Wait()
}
