package logrot_test

import (
	"fmt"
	"os"
	"path/filepath"

	"gosupervisor/logrot"
)

// A Writer rotates after the write that reaches maxbytes: the chunk is
// kept whole, then x.log becomes x.log.1 and a fresh x.log starts.
func ExampleWriter() {
	dir, err := os.MkdirTemp("", "logrot-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "x.log")
	w, err := logrot.Open(path, 10, 2)
	if err != nil {
		panic(err)
	}
	defer w.Close()
	for _, chunk := range []string{"hello ", "world!\n", "next\n"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			panic(err)
		}
	}
	for _, name := range []string{"x.log.1", "x.log"} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		fmt.Printf("%s: %q\n", name, b)
	}
	l, err := logrot.OpenLog(path)
	if err != nil {
		panic(err)
	}
	defer l.Close()
	data, next, overflow, _ := l.Tail(0, 3)
	fmt.Printf("tail: %q %d %v\n", data, next, overflow)
	// Output:
	// x.log.1: "hello world!\n"
	// x.log: "next\n"
	// tail: "xt\n" 5 true
}
