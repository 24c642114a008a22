package config

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gosupervisor/internal/testenv"
)

// TestReferenceSample loads the reference's own sample configuration, as
// its echo_supervisord_conf prints it at test time (its prose is not
// stored in this tree), with both parsers and requires the same values.
func TestReferenceSample(t *testing.T) {
	testenv.RequireReference(t)
	out, err := exec.Command(testenv.PythonEchoConf).Output()
	if err != nil {
		t.Fatalf("%s: %v", testenv.PythonEchoConf, err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "echo_sample.conf")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	env := corpusEnv(t)
	results := runReference(t, env, dir, []string{path})
	if len(results) != 1 {
		t.Fatalf("reference answered %d results for one file", len(results))
	}
	if msg, rejected := results[0].Server["error"]; rejected {
		t.Fatalf("the reference rejects its own sample: %v", msg)
	}
	compareWithReference(t, results[0], Options{Env: env, Hostname: refHostname, Cwd: dir})
}
