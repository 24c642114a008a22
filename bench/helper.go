package bench

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// HelperArg is the first argument that turns the bench binary into one of
// the children the scenarios run (see HelperMain).
const HelperArg = "bench-helper"

// The pattern stream is made of 64 KiB blocks of 64-byte lines. Every
// block is the same template except its first 16 bytes, which carry the
// block number ("B" and 15 digits). So every byte is a function of its
// offset, any suffix kept on disk can be checked, the tail from the last
// block's start is unique, and the writer only rewrites 16 bytes per block.
const (
	recordSize   = 64
	patternBlock = 64 << 10
)

// patternTemplate returns a block whose lines carry their number within
// the block; its header is still unset.
func patternTemplate() []byte {
	block := make([]byte, patternBlock)
	for r := 0; r < patternBlock/recordSize; r++ {
		rec := block[r*recordSize : (r+1)*recordSize]
		copy(rec, fmt.Sprintf("%016d ", r))
		for i := 17; i < recordSize-1; i++ {
			rec[i] = 'x'
		}
		rec[recordSize-1] = '\n'
	}
	return block
}

// setBlockHeader writes block number n into the first 16 bytes of block.
func setBlockHeader(block []byte, n int64) {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], n, 10)
	block[0] = 'B'
	for i := 1; i < 16-len(d); i++ {
		block[i] = '0'
	}
	copy(block[16-len(d):16], d)
}

// fillPattern fills buf with the pattern stream's bytes starting at offset
// off.
func fillPattern(buf []byte, off int64) {
	block := patternTemplate()
	for i := 0; i < len(buf); {
		setBlockHeader(block, off/patternBlock)
		c := copy(buf[i:], block[off%patternBlock:])
		i += c
		off += int64(c)
	}
}

// writePattern writes the first total bytes of the pattern stream to w, one
// block per write.
func writePattern(w io.Writer, total int64) error {
	block := patternTemplate()
	for off := int64(0); off < total; off += patternBlock {
		setBlockHeader(block, off/patternBlock)
		n := min(patternBlock, total-off)
		if _, err := w.Write(block[:n]); err != nil {
			return fmt.Errorf("write at offset %d: %w", off, err)
		}
	}
	return nil
}

// patternTail returns the end of a total-byte stream from the start of its
// last block holding a whole header: bytes that appear nowhere else in the
// stream.
func patternTail(total int64) []byte {
	n := (total-1)%patternBlock + 1
	if n < 16 {
		n += patternBlock
	}
	n = min(n, total)
	tail := make([]byte, n)
	fillPattern(tail, total-n)
	return tail
}

// checkSuffix reports whether kept (read through r, n bytes long) equals the
// last n bytes of a pattern stream of total bytes.
func checkSuffix(r io.Reader, n, total int64) error {
	if n > total {
		return fmt.Errorf("%d bytes kept of a %d-byte stream", n, total)
	}
	const chunk = 1 << 20
	got := make([]byte, chunk)
	want := make([]byte, chunk)
	for off := total - n; off < total; {
		c := min(int64(chunk), total-off)
		if _, err := io.ReadFull(r, got[:c]); err != nil {
			return fmt.Errorf("read kept bytes at stream offset %d: %w", off, err)
		}
		fillPattern(want[:c], off)
		if !bytes.Equal(got[:c], want[:c]) {
			i := 0
			for got[i] == want[i] {
				i++
			}
			return fmt.Errorf("kept bytes differ from the stream at offset %d", off+int64(i))
		}
		off += c
	}
	return nil
}

// chattyLine returns a size-byte line naming the writer and its sequence
// number.
func chattyLine(buf []byte, name string, seq int, size int) []byte {
	buf = fmt.Appendf(buf[:0], "%s %09d ", name, seq)
	for len(buf) < size-1 {
		buf = append(buf, '.')
	}
	return append(buf[:size-1], '\n')
}

// HelperMain runs a helper child and returns its exit code. Modes:
//
//	write -bytes N                   pattern stream of N bytes to stdout
//	chatty -name S -every D -size L -for T -count-file F
//	                                 an L-byte line every D for T, one write
//	                                 per line; the number written goes to F
func HelperMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "bench helper: mode required (write, chatty, notify)")
		return 2
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var err error
	switch args[0] {
	case "write":
		total := fs.Int64("bytes", 1<<30, "bytes to write")
		if err = fs.Parse(args[1:]); err == nil {
			err = writePattern(stdout, *total)
		}
	case "chatty":
		name := fs.String("name", "chatty", "name written in each line")
		every := fs.Duration("every", time.Millisecond, "interval between lines")
		size := fs.Int("size", 100, "line length including the newline")
		dur := fs.Duration("for", 20*time.Second, "how long to write")
		countFile := fs.String("count-file", "", "where to write the number of lines written")
		if err = fs.Parse(args[1:]); err == nil {
			err = chatty(stdout, *name, *every, *size, *dur, *countFile)
		}
	case "notify":
		every := fs.Duration("every", time.Second, "interval between keep-alives")
		if err = fs.Parse(args[1:]); err == nil {
			err = notifyHelper(*every)
		}
	default:
		err = fmt.Errorf("unknown mode %q", args[0])
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench helper %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// chatty writes one line per tick, catching up line by line after a late
// tick, and records how many lines it wrote.
func chatty(w io.Writer, name string, every time.Duration, size int, dur time.Duration, countFile string) error {
	if size < len(name)+12 {
		return fmt.Errorf("line size %d too small for name %q", size, name)
	}
	buf := make([]byte, 0, size)
	start := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	written := 0
	for {
		now := <-tick.C
		elapsed := now.Sub(start)
		if elapsed > dur {
			elapsed = dur
		}
		for due := int(elapsed / every); written < due; written++ {
			if _, err := w.Write(chattyLine(buf, name, written, size)); err != nil {
				return fmt.Errorf("line %d: %w", written, err)
			}
		}
		if now.Sub(start) >= dur {
			break
		}
	}
	if countFile == "" {
		return nil
	}
	return os.WriteFile(countFile, []byte(strconv.Itoa(written)+"\n"), 0o644)
}
