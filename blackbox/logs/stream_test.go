package logs

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestStreamIsDeterministicAndVaried(t *testing.T) {
	t.Parallel()
	a, b := Stream(1, 200), Stream(1, 200)
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed gave two different streams")
	}
	if bytes.Equal(a, Stream(2, 200)) {
		t.Fatal("two seeds gave the same stream")
	}
	var invalid, unterminated, long int
	for i := range 200 {
		r := Record(1, i)
		if !utf8.Valid(r) {
			invalid++
		}
		if r[len(r)-1] != '\n' {
			unterminated++
		}
		if len(r) > 4096 {
			long++
		}
	}
	if invalid == 0 || unterminated == 0 || long == 0 {
		t.Fatalf("stream lacks a case: %d invalid UTF-8, %d without newline, %d long records", invalid, unterminated, long)
	}
}
