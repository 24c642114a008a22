//go:build !linux

package logrot

// spliceLoop is Linux-only; elsewhere Pump always copies through a buffer.
func spliceLoop(*chunkReader, *Writer, *pacer) (eof bool, err error) {
	return false, nil
}
