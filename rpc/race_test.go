//go:build race

package rpc

// raceEnabled is true when the race detector slows every memory access.
const raceEnabled = true
