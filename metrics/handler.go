package metrics

import (
	"net/http"
	"strconv"
	"sync"

	"gosupervisor/supervisord/engine"
)

// Source is what a scrape reads: published snapshots and the last
// resource sample, never the engine's loop. *engine.Engine satisfies it.
type Source interface {
	LatestResources() ([]engine.ProcessResources, error)
}

// Options are a handler's fixed figures.
type Options struct {
	Version, Identifier string
	NodeExporter        bool
}

// handler serves /metrics.
type handler struct {
	src  Source
	opts Options
	bufs sync.Pool // *[]byte
}

// Handler serves the metrics of src at any path it is mounted on (GET and
// HEAD; other methods get 405).
func Handler(src Source, opts Options) http.Handler {
	return &handler{src: src, opts: opts, bufs: sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	res, err := h.src.LatestResources()
	if err != nil {
		http.Error(w, "supervisord is stopping", http.StatusServiceUnavailable)
		return
	}
	s := Snapshot{Version: h.opts.Version, Identifier: h.opts.Identifier, NodeExporter: h.opts.NodeExporter,
		Processes: make([]Process, len(res))}
	for i := range res {
		s.Processes[i] = fromEngine(&res[i])
	}
	bp := h.bufs.Get().(*[]byte)
	buf := Append((*bp)[:0], &s)
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(buf)
	}
	if cap(buf) <= 8<<20 {
		*bp = buf
		h.bufs.Put(bp)
	}
}

// fromEngine is one process's figures.
func fromEngine(res *engine.ProcessResources) Process {
	p := &res.ProcessStatus
	c := p.Counters
	out := Process{
		Name: p.Name, Group: p.Group, State: p.State, Start: p.Started, ExitStatus: p.ExitStatus,
		Spawns: c.Spawns, ExitsExpected: c.ExitsExpected, ExitsUnexpected: c.ExitsUnexpected,
		OOMKills: c.OOMKills, RSSLimitRestarts: c.RSSRestarts,
		HealthCheckFailures: c.HealthFailures, WatchdogTimeouts: c.Watchdogs,
		Ready: -1, Healthy: -1,
	}
	if p.Extras.Notify {
		out.Ready = boolInt(p.Extras.Ready)
	}
	// The verdict is known while a check runs ("starting" counts as not
	// healthy yet); absent otherwise.
	if p.Extras.Health != "" {
		out.Healthy = boolInt(p.Extras.Health == "healthy") // protocol.Extras' word
	}
	u := res.Usage
	if !u.Sampled.IsZero() || u.CPUTotal > 0 {
		out.HasUsage = true
		out.CPUSeconds = u.CPUTotal.Seconds()
		out.RSSBytes = u.RSS
	}
	if u.CgroupMemory >= 0 && !u.Sampled.IsZero() {
		out.HasCgroup, out.CgroupMemoryBytes = true, uint64(u.CgroupMemory)
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
