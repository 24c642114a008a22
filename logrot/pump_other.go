//go:build !linux

package logrot

import "syscall"

// spliceLoop is Linux-only; elsewhere Pump always copies through a buffer.
func spliceLoop(syscall.RawConn, *chunkReader, *Writer) (eof bool, err error) {
	return false, nil
}
