package logs

import (
	"fmt"
	"strings"
)

// Record is record i of the deterministic byte stream named seed: a
// numbered header followed by a body whose length and content vary with i.
// Some records carry invalid UTF-8, some end without a newline (so they
// run into the next record), and every 37th is a very long line, so that
// the stream exercises every case of chunking a log has to survive.
func Record(seed, i int) []byte {
	// A small LCG keeps the stream reproducible with no shared state.
	x := uint32(seed)*2654435761 + uint32(i)*40503 + 12345
	next := func() uint32 {
		x = x*1664525 + 1013904223
		return x >> 8
	}
	var b strings.Builder
	fmt.Fprintf(&b, "s%d r%06d ", seed, i)
	n := int(next() % 200)
	if i%37 == 36 {
		n = 5000 + int(next()%15000)
	}
	for j := 0; j < n; j++ {
		b.WriteByte(byte('a' + (i+j)%26))
	}
	if i%11 == 5 {
		// A lone continuation byte, an invalid byte and a truncated
		// three-byte sequence.
		b.WriteString(" \x80\xff\xe2\x82 ")
	}
	if i%7 != 3 {
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// Stream is records 0 … n-1 of seed, concatenated.
func Stream(seed, n int) []byte {
	var b []byte
	for i := range n {
		b = append(b, Record(seed, i)...)
	}
	return b
}
