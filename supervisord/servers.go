package supervisord

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/metrics"
	"gosupervisor/rpc"
	"gosupervisor/supervisord/engine"
	"gosupervisor/supervisord/handover"
	"gosupervisor/webui"
)

// stockRPCFactory is the factory of the stock [rpcinterface:supervisor]
// section; it is the only RPC interface we implement.
const stockRPCFactory = "supervisor.rpcinterface:make_main_rpcinterface"

// httpServers are the running HTTP servers of one engine life.
type httpServers struct {
	servers []*rpc.Server
	// listeners are the servers' sockets, with what a handover names
	// them by.
	listeners []servedListener
	// cancel ends every request's context (endless /logtail streams,
	// calls still waiting for a process).
	cancel context.CancelFunc
	// endStreams ends the log streams (an upgrade's handover).
	endStreams context.CancelFunc
	wg         sync.WaitGroup
}

// servedListener is one server's socket.
type servedListener struct {
	kind, section string
	ln            *rpc.Listener
	srv           *rpc.Server
}

// inherited are the sockets and idle connections a predecessor handed
// over, by kind and section ("unix/unix_http_server").
type inherited map[string]*inheritedServer

type inheritedServer struct {
	detached rpc.Detached
	conns    []rpc.IdleConn
}

// openServers binds every configured server, inet ones first then unix
// ones as the reference orders them, and serves eng on each. It logs
// the reference's per-server lines: one INFO per RPC interface, and CRIT
// when the server has no authentication. A bind error is a startup error
// with the reference's text; a stale unix socket is reported on stderr.
// bound, when set, is called after each unix socket is bound (a test
// hook).
//
// A daemon resuming from an upgrade serves the sockets in from (nil
// otherwise) instead of binding its own, and closes those no server
// takes. up runs gosupervisor.upgrade (nil: not available).
func openServers(cfg *config.Config, eng *engine.Engine, log mainLogger, stderr io.Writer, bound func(path string), from inherited, up rpc.Upgrader) (*httpServers, error) {
	ctx, cancel := context.WithCancel(context.Background())
	streams, endStreams := context.WithCancel(context.Background())
	hs := &httpServers{cancel: cancel, endStreams: endStreams}
	defer from.close()
	type server struct {
		kind, section      string
		username, password string
		// localNames is set for TCP servers: the names of this machine
		// a browser may send as Host without authentication.
		localNames []string
		listen     func() (*rpc.Listener, error)
	}
	var all []server
	for _, s := range cfg.InetHTTPServers {
		all = append(all, server{"inet", s.Section, s.Username, s.Password, localNames(s),
			func() (*rpc.Listener, error) { return rpc.ListenInet(s) }})
	}
	for _, s := range cfg.UnixHTTPServers {
		all = append(all, server{"unix", s.Section, s.Username, s.Password, nil,
			func() (*rpc.Listener, error) {
				return rpc.ListenUnix(s, rpc.UnixOptions{Report: stderr, Bound: bound})
			}})
	}
	for i := range all {
		s := &all[i]
		if in := from.take(s.kind + "/" + s.section); in != nil {
			s.listen = func() (*rpc.Listener, error) {
				ln, err := rpc.AdoptListener(in.detached, in.conns)
				if err != nil && ln != nil {
					log.Logf(protocol.LevelError, "upgrade: %v", err)
					err = nil
				}
				return ln, err
			}
		}
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
			Upgrader:   up,
			EndStreams: streams,
		}))
		hs.servers = append(hs.servers, srv)
		hs.listeners = append(hs.listeners, servedListener{s.kind, s.section, ln, srv})
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

// take removes and returns the inherited server named key, nil if none.
func (in inherited) take(key string) *inheritedServer {
	s := in[key]
	delete(in, key)
	return s
}

// close closes what no server took.
func (in inherited) close() {
	for key, s := range in {
		unix.Close(s.detached.FD)
		for _, c := range s.conns {
			unix.Close(c.FD)
		}
		delete(in, key)
	}
}

// detach stops accepting on every socket and returns them, by server
// index (see rpc.Listener.Detach). On failure the sockets detached so
// far are served again.
func (hs *httpServers) detach() ([]detachedServer, error) {
	var out []detachedServer
	for _, sl := range hs.listeners {
		d, err := sl.ln.Detach()
		if err != nil {
			hs.readopt(out, nil)
			return nil, fmt.Errorf("%s: %w", sl.section, err)
		}
		out = append(out, detachedServer{d, handover.Server{Kind: sl.kind, Section: sl.section, FD: d.FD, Path: d.Path, Inode: d.Inode}})
	}
	return out, nil
}

// detachedServer is a detached socket as rpc and the document name it.
type detachedServer struct {
	rpc.Detached
	handover.Server
}

// idleConn is a connection taken between two requests, with its server's
// index.
type idleConn struct {
	rpc.IdleConn
	server int
}

// drain waits until every connection has been answered and taken (see
// rpc.Listener.Drain), or ctx is done.
func (hs *httpServers) drain(ctx context.Context) []idleConn {
	var out []idleConn
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, sl := range hs.listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conns := sl.srv.Drain(ctx)
			mu.Lock()
			for _, c := range conns {
				out = append(out, idleConn{c, i})
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// readopt serves detached sockets and taken connections again (a
// handover that will not happen).
func (hs *httpServers) readopt(servers []detachedServer, conns []idleConn) {
	for i, d := range servers {
		var mine []rpc.IdleConn
		for _, c := range conns {
			if c.server == i {
				mine = append(mine, c.IdleConn)
			}
		}
		ln, err := rpc.AdoptListener(d.Detached, mine)
		if ln == nil {
			continue
		}
		_ = err // connections that could not be adopted are closed
		srv := hs.listeners[i].srv
		hs.listeners[i].ln = ln
		hs.wg.Add(1)
		go func() {
			defer hs.wg.Done()
			_ = srv.Serve(ln)
		}()
	}
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
