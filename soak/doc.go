// Package soak is a bounded soak test of our supervisord: 200 programs
// (quiet, chatty with rotating logs, crashing before and after startsecs)
// under XML-RPC load, log-tail streams and reread/update cycles, after
// which the daemon's descriptors, threads, memory and goroutines must be
// back near their value after warm-up, no child left a zombie, and every
// program in the state its config implies.
//
// The test (TestSoak) runs about a minute by default, inside `make test`;
// `make soak` runs it for ten minutes (-soak.duration=10m). The non-test
// files hold what it measures with: /proc readers, pprof parsers, a small
// XML-RPC client and the generated configuration.
package soak
