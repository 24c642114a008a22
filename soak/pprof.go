package soak

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// PprofClient reads runtime figures from a daemon started with
// GOSUPERVISOR_PPROF (its net/http/pprof endpoints on 127.0.0.1).
type PprofClient struct {
	base string // http://127.0.0.1:port
	http *http.Client
}

// NewPprofClient returns a client of the pprof server at addr
// (host:port). It keeps no connection open between calls, so it adds
// nothing to the daemon's descriptor count when idle.
func NewPprofClient(addr string) *PprofClient {
	return &PprofClient{
		base: "http://" + addr,
		http: &http.Client{
			Transport: &http.Transport{DisableKeepAlives: true},
			Timeout:   30 * time.Second,
		},
	}
}

// Goroutines returns the daemon's goroutine count.
func (c *PprofClient) Goroutines(ctx context.Context) (int, error) {
	body, err := c.get(ctx, "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return 0, err
	}
	return parseGoroutineTotal(body)
}

// HeapInuse returns the daemon's in-use heap bytes right after a
// collection (the profile's gc=1 runs one first).
func (c *PprofClient) HeapInuse(ctx context.Context) (uint64, error) {
	body, err := c.get(ctx, "/debug/pprof/heap?debug=1&gc=1")
	if err != nil {
		return 0, err
	}
	return parseMemStat(body, "HeapInuse")
}

func (c *PprofClient) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("pprof %s: %w", path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("pprof %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("pprof %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("pprof %s: %s", path, resp.Status)
	}
	return body, nil
}

// parseGoroutineTotal reads N from the first line of a debug=1 goroutine
// profile, "goroutine profile: total N".
func parseGoroutineTotal(profile []byte) (int, error) {
	first, _, _ := bytes.Cut(profile, []byte("\n"))
	n, ok := strings.CutPrefix(string(first), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("goroutine profile starts %q", first)
	}
	total, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil {
		return 0, fmt.Errorf("goroutine profile total %q: %w", n, err)
	}
	return total, nil
}

// parseMemStat reads one "# Name = value" line of the runtime.MemStats
// block that ends a debug=1 heap profile.
func parseMemStat(profile []byte, name string) (uint64, error) {
	prefix := "# " + name + " = "
	sc := bufio.NewScanner(bytes.NewReader(profile))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("heap profile %s %q: %w", name, v, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("heap profile has no %s line", name)
}
