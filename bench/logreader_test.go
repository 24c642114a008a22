package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gosupervisor/internal/testenv"
)

// TestMain lets the test binary act as the bench helper, as cmd/bench
// does, so the C reader can be fed by the real writer.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == HelperArg {
		os.Exit(HelperMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// buildLogReader compiles bench/logreader/logreader.c as make bench does.
func buildLogReader(t *testing.T) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Fatalf("no C compiler (make bench needs one; scripts/deps.sh bench installs gcc): %v", err)
	}
	bin := filepath.Join(t.TempDir(), "logreader")
	src := filepath.Join(testenv.RepoRoot(), "bench", "logreader", "logreader.c")
	if out, err := exec.Command(cc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	return bin
}

func TestLogReaderRotatesLikeSupervisor(t *testing.T) {
	reader := buildLogReader(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		total, maxBytes int64
		backups         int
	}{
		{total: 3 << 20, maxBytes: 256 << 10, backups: 3},
		{total: 100 << 10, maxBytes: 256 << 10, backups: 3}, // never rotates
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%d/%d", tt.total, tt.maxBytes, tt.backups), func(t *testing.T) {
			dir := t.TempDir()
			run, err := RunLogReader(context.Background(), reader, self, dir, tt.total, tt.maxBytes, tt.backups)
			if err != nil {
				t.Fatal(err)
			}
			if run.Bytes != tt.total || run.Elapsed <= 0 {
				t.Errorf("run = %+v", run)
			}
			// RunLogReader checked the files with checkKept, then removed them.
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("files left: %v", left)
			}
		})
	}
	// checkKept is what catches a reader that loses or reorders bytes: a
	// reader that drops every other chunk must fail.
	t.Run("a lossy reader fails", func(t *testing.T) {
		lossy := filepath.Join(t.TempDir(), "lossy")
		script := "#!/bin/sh\nhead -c 100000 > \"$1\"; cat > /dev/null; echo 3145728\n"
		if err := os.WriteFile(lossy, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := RunLogReader(context.Background(), lossy, self, t.TempDir(), 3<<20, 256<<10, 3)
		if err == nil || !strings.Contains(err.Error(), "rotated logs") {
			t.Errorf("err = %v, want the kept files refused", err)
		}
	})
	if _, err := RunLogReader(context.Background(), "", self, t.TempDir(), 1, 1, 1); err == nil {
		t.Error("no reader configured: no error")
	}
}
