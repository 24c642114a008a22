package logrot

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// TestTrailTwoPumpsOneFile: two pumps (an instance and the next one)
// write the same log in turns, on the splice path and the filter path;
// each one's Trail reads back exactly its own last bytes.
func TestTrailTwoPumpsOneFile(t *testing.T) {
	identity := func(b []byte) []byte { return b }
	for _, tt := range []struct {
		name   string
		filter func([]byte) []byte
	}{{"splice", nil}, {"filter", identity}} {
		t.Run(tt.name, func(t *testing.T) {
			w := mustOpen(t, filepath.Join(t.TempDir(), "x.log"), 0, 0)
			defer w.Close()
			ta, tb := NewTrail(64), NewTrail(1<<20)
			pa, doneA := startPump(t, w, tt.filter, WithCoalesce(0), WithTrail(ta))
			pb, doneB := startPump(t, w, tt.filter, WithCoalesce(0), WithTrail(tb))
			var wantA, wantB bytes.Buffer
			for i := range 20 {
				a, b := fmt.Sprintf("a line %d\n", i), fmt.Sprintf("b line %d\n", i)
				wantA.WriteString(a)
				wantB.WriteString(b)
				// One pump's line lands before the other's is sent, so
				// the file alternates between them.
				for _, x := range []struct {
					pipe *os.File
					text string
				}{{pa, a}, {pb, b}} {
					before := fileSize(t, w)
					if _, err := x.pipe.Write([]byte(x.text)); err != nil {
						t.Fatal(err)
					}
					testenv.Eventually(t, 10*time.Second, func() error {
						if n := fileSize(t, w); n != before+int64(len(x.text)) {
							return fmt.Errorf("log has %d bytes, want %d", n, before+int64(len(x.text)))
						}
						return nil
					})
				}
			}
			pa.Close()
			pb.Close()
			waitPump(t, doneA)
			waitPump(t, doneB)
			gotA, gotB := ta.Read(w), tb.Read(w)
			if want := wantA.Bytes()[wantA.Len()-64:]; !bytes.Equal(gotA, want) || !ta.Cut {
				t.Errorf("a's trail %q (cut %v), want its last 64 bytes %q", gotA, ta.Cut, want)
			}
			if !bytes.Equal(gotB, wantB.Bytes()) || tb.Cut {
				t.Errorf("b's trail %q (cut %v), want all it wrote", gotB, tb.Cut)
			}
		})
	}
}

// TestTrailAfterRotation: once the file was rotated the noted offsets
// point into another file: nothing is read back.
func TestTrailAfterRotation(t *testing.T) {
	w := mustOpen(t, filepath.Join(t.TempDir(), "x.log"), 100, 1)
	defer w.Close()
	tr := NewTrail(1000)
	if _, err := w.write([]byte("first\n"), tr); err != nil {
		t.Fatal(err)
	}
	if got := tr.Read(w); string(got) != "first\n" {
		t.Fatalf("before rotation: %q", got)
	}
	if _, err := w.Write(bytes.Repeat([]byte("x"), 200)); err != nil {
		t.Fatal(err)
	}
	if got := tr.Read(w); got != nil {
		t.Errorf("after rotation: %q, want nothing", got)
	}
	var none *Trail
	none.add(1, 0, 10) // a Pump without a trail
}

func fileSize(t *testing.T, w *Writer) int64 {
	t.Helper()
	st, err := os.Stat(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
