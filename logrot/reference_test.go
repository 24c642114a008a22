package logrot

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// runPython runs script under the reference's interpreter and returns its
// stdout. The process is killed by pid if it overruns.
func runPython(t *testing.T, script string) string {
	t.Helper()
	testenv.RequireReference(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Python3, "-")
	cmd.Stdin = strings.NewReader(script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	return stdout.String()
}

// rotationCase is one chunk sequence written through both implementations.
type rotationCase struct {
	name     string
	maxBytes int64
	backups  int
	existing map[string][]byte
	chunks   [][]byte
}

func rotationCases() []rotationCase {
	rng := rand.New(rand.NewPCG(42, 42))
	chunks := func(n, maxLen int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = testStream(rng.Uint64(), 1+rng.IntN(maxLen))
		}
		return out
	}
	return []rotationCase{
		{name: "small chunks", maxBytes: 100, backups: 3, chunks: chunks(200, 40)},
		{name: "chunks larger than maxbytes", maxBytes: 50, backups: 4, chunks: chunks(60, 300)},
		{name: "backups 0", maxBytes: 64, backups: 0, chunks: chunks(80, 30)},
		{name: "backups 1", maxBytes: 64, backups: 1, chunks: chunks(80, 30)},
		{name: "maxbytes 0", maxBytes: 0, backups: 5, chunks: chunks(50, 100)},
		{name: "exact boundaries", maxBytes: 10, backups: 2, chunks: [][]byte{
			[]byte("0123456789"), []byte("abcdefghij"), []byte("x"), []byte("123456789"), []byte("\xff"),
		}},
		{name: "existing base and backups", maxBytes: 30, backups: 3,
			existing: map[string][]byte{"x.log": []byte("existing base\n"), "x.log.1": []byte("b1"), "x.log.3": []byte("b3"), "x.log.7": []byte("b7")},
			chunks:   chunks(40, 20)},
	}
}

// TestRotationMatchesReference writes the same chunks through Supervisor's
// RotatingFileHandler (as a child's stdout dispatcher does: format
// '%(message)s', bytes) and through Writer, then compares the directories.
func TestRotationMatchesReference(t *testing.T) {
	cases := rotationCases()
	root := t.TempDir()
	var script strings.Builder
	script.WriteString(`
import binascii
from supervisor import loggers
def run(path, maxbytes, backups, chunks):
    logger = loggers.getLogger(loggers.LevelsByName.INFO)
    loggers.handle_file(logger, path, '%(message)s', rotating=not not maxbytes, maxbytes=maxbytes, backups=backups)
    for c in chunks:
        logger.info(binascii.unhexlify(c))
    logger.close()
`)
	for i, c := range cases {
		for _, side := range []string{"py", "go"} {
			dir := filepath.Join(root, fmt.Sprintf("%d-%s", i, side))
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, content := range c.existing {
				if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		hexChunks := make([]string, len(c.chunks))
		for j, ch := range c.chunks {
			hexChunks[j] = fmt.Sprintf("%q", hex.EncodeToString(ch))
		}
		fmt.Fprintf(&script, "run(%q, %d, %d, [%s])\n",
			filepath.Join(root, fmt.Sprintf("%d-py", i), "x.log"), c.maxBytes, c.backups, strings.Join(hexChunks, ","))
	}
	runPython(t, script.String())

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(root, fmt.Sprintf("%d-go", i))
			w := mustOpen(t, filepath.Join(dir, "x.log"), c.maxBytes, c.backups)
			for _, ch := range c.chunks {
				if _, err := w.Write(ch); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			want := dirFiles(t, filepath.Join(root, fmt.Sprintf("%d-py", i)))
			got := dirFiles(t, dir)
			if len(want) < 1 {
				t.Fatal("the reference wrote nothing")
			}
			for name, content := range want {
				if g, ok := got[name]; !ok {
					t.Errorf("missing %s (the reference has %d bytes)", name, len(content))
				} else if g != content {
					t.Errorf("%s: %d bytes differ from the reference's %d", name, len(g), len(content))
				}
			}
			for name := range got {
				if _, ok := want[name]; !ok {
					t.Errorf("extra file %s", name)
				}
			}
		})
	}
}

// TestStripANSIMatchesReference compares StripANSI with the reference's
// stripEscapes on crafted and random inputs.
func TestStripANSIMatchesReference(t *testing.T) {
	inputs := []string{
		"", "plain", "\x1b[31mred\x1b[0m", "\x1b[1;32mbold green\x1b[m end",
		"\x1b[", "unterminated \x1b[12", "\x1b[2J\x1b[H", "esc alone \x1b x", "[31m no esc",
		"\x1b[\x1b[31m nested", "a\x1b[Kb\x1b[sc\x1b[ud", "\x1b[?25l hidden cursor \x1b[?25h",
		"\x1b]0;title\x07 osc", "tail \x1b[3", "\xff\x1b[31m\xfe",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("\x1b[[m;0123HfABxyz\n\xff")
	for range 300 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}
	var script strings.Builder
	script.WriteString("import binascii\nfrom supervisor.dispatchers import stripEscapes\n")
	for _, in := range inputs {
		fmt.Fprintf(&script, "print(stripEscapes(binascii.unhexlify(%q)).hex())\n", hex.EncodeToString([]byte(in)))
	}
	want := strings.Split(runPython(t, script.String()), "\n")
	for i, in := range inputs {
		got := hex.EncodeToString(StripANSI([]byte(in)))
		if got != want[i] {
			t.Errorf("StripANSI(%q) = %x, reference %s", in, got, want[i])
		}
	}
}

func TestStripANSIDoesNotAllocate(t *testing.T) {
	src := []byte("\x1b[31mred\x1b[0m and \x1b[1mbold\x1b[0m\n")
	buf := make([]byte, len(src))
	allocs := testing.AllocsPerRun(100, func() {
		copy(buf, src)
		StripANSI(buf)
	})
	if allocs != 0 {
		t.Errorf("StripANSI allocates %v times per call", allocs)
	}
}
