package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// logScenario measures log capture with rotation on the filesystem of
// root: on a disk (memory=false) or tmpfs (memory=true). Every run first
// has the C reader do the same job in the same directory: the bound.
func logScenario(name, root string, memory bool) *Scenario {
	where := "the temp dir"
	if root != "" {
		where = root
	}
	fsNote := "written under " + where
	if m, err := MountOf(orTempDir(root)); err == nil {
		fsNote += ": " + m.String()
	} else {
		fsNote += ": " + err.Error()
	}
	kind := "a disk filesystem"
	if memory {
		kind = "tmpfs"
	}
	return &Scenario{
		Name:  name,
		Title: "log capture on " + kind + ": one child writes to stdout, rotating log",
		Notes: []string{
			fsNote,
			"C reader = bench/logreader/logreader.c: read(2)/write(2) of 128 KiB from the same writer's pipe (grown to 256 KiB, as the daemon grows a fast stream's) into a file with the same rotation, run just before each daemon run in the same directory",
			"throughput runs from startProcess to the stream's last bytes on disk (files read every 5 ms); CPU from /proc (10 ms ticks), the C reader's from wait4",
		},
		Root: root,
		Figures: []Figure{
			{Key: "mibps", Label: "throughput", Unit: "MiB/s"},
			{Key: "limit", Label: "C reader throughput", Unit: "MiB/s"},
			{Key: "pct_limit", Label: "throughput / C reader's", Unit: "%", Target: Target{AtLeast, 85}},
			{Key: "cpu_per_gib", Label: "daemon CPU per GiB", Unit: "CPU-s"},
			{Key: "limit_cpu_per_gib", Label: "C reader CPU per GiB", Unit: "CPU-s"},
			{Key: "cpu_vs_limit", Label: "daemon CPU per GiB / C reader's", Unit: "×", Target: Target{AtMost, 1.2}},
			{Key: "kept", Label: "bytes kept on disk", Unit: "MiB"},
			{Key: "kept_ok", Label: "kept == last bytes of the stream (1=yes)", Unit: "bool", Target: Target{Equal, 1}},
		},
		Run: func(ctx context.Context, env *Env) (Sample, error) {
			m, err := MountOf(env.Dir)
			if err != nil {
				return nil, err
			}
			if m.InMemory() != memory {
				return nil, fmt.Errorf("%s is on %s, not %s: choose another directory (-diskdir, -tmpfsdir)", orTempDir(root), m, kind)
			}
			return runLogScenario(ctx, env)
		},
	}
}

// orTempDir is dir, or the temp dir when dir is empty.
func orTempDir(dir string) string {
	if dir == "" {
		return os.TempDir()
	}
	return dir
}

func runLogScenario(ctx context.Context, env *Env) (Sample, error) {
	p := env.Params
	s := Sample{}
	gib := float64(p.LogBytes) / (1 << 30)
	lim, err := RunLogReader(ctx, env.LogReader, env.Helper, env.Dir, p.LogBytes, p.LogMaxBytes, p.LogBackups)
	if err != nil {
		return s, err
	}
	s["limit"] = float64(lim.Bytes) / mib / lim.Elapsed.Seconds()
	s["limit_cpu_per_gib"] = lim.CPU.Seconds() / gib
	cmd, err := env.helperCommand("write", "-bytes", p.LogBytes)
	if err != nil {
		return s, err
	}
	logPath := filepath.Join(env.Dir, "writer.log")
	cfg := DaemonConfig{Dir: env.Dir, Programs: []Program{{Name: "writer", Command: cmd, Settings: []Setting{
		{"autostart", "false"}, {"autorestart", "false"}, {"startsecs", "0"}, {"startretries", "0"},
		{"stdout_logfile", logPath},
		{"stdout_logfile_maxbytes", strconv.FormatInt(p.LogMaxBytes/mib, 10) + "MB"},
		{"stdout_logfile_backups", strconv.Itoa(p.LogBackups)},
		{"stderr_logfile", filepath.Join(env.Dir, "writer.err")},
	}}}}
	d, err := StartDaemon(ctx, env.Bin, cfg)
	if err != nil {
		return s, err
	}
	defer d.Close()
	files := rotatedFiles(logPath, p.LogBackups)
	final := patternTail(p.LogBytes)
	syscall.Sync() // as before the C reader: no dirty pages left from it
	u0, err := d.Usage()
	if err != nil {
		return s, err
	}
	t0 := time.Now()
	if err := d.Client.StartProcess("writer", false); err != nil {
		return s, err
	}
	// The stream's tail is unique, so seeing it at the end of the log means
	// every byte has been written.
	err = pollUntil(ctx, d, 5*time.Millisecond, 5*time.Minute, "the whole stream in the log", func() (bool, error) {
		tail, err := readTail(files, len(final))
		return err == nil && bytes.Equal(tail, final), err
	})
	elapsed := time.Since(t0)
	if err != nil {
		return s, err
	}
	u1, err := d.Usage()
	if err != nil {
		return s, err
	}
	s["mibps"] = float64(p.LogBytes) / mib / elapsed.Seconds()
	s["pct_limit"] = 100 * s["mibps"] / s["limit"]
	s["cpu_per_gib"] = (u1.CPU - u0.CPU).Seconds() / gib
	if s["limit_cpu_per_gib"] > 0 {
		s["cpu_vs_limit"] = s["cpu_per_gib"] / s["limit_cpu_per_gib"]
	}
	kept, checkErr := checkKept(files, p.LogBytes, p.LogMaxBytes)
	s["kept"] = float64(kept) / mib
	s["kept_ok"] = 1
	if checkErr != nil {
		s["kept_ok"] = 0
	}
	return s, checkErr
}

// rotatedFiles lists a rotating log's files oldest first: base.N .. base.1, base.
func rotatedFiles(base string, backups int) []string {
	var files []string
	for i := backups; i >= 1; i-- {
		files = append(files, fmt.Sprintf("%s.%d", base, i))
	}
	return append(files, base)
}

// readTail returns the last n bytes of the concatenation of files (oldest
// first); missing files count as empty.
func readTail(files []string, n int) ([]byte, error) {
	tail := make([]byte, 0, n)
	for i := len(files) - 1; i >= 0 && len(tail) < n; i-- {
		b, err := readLast(files[i], n-len(tail))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		tail = append(b, tail...)
	}
	return tail, nil
}

func readLast(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(0, st.Size()-int64(n))
	b := make([]byte, st.Size()-off)
	_, err = f.ReadAt(b, off)
	return b, err
}

// rotationSlack is how far past maxbytes a file may grow: Supervisor
// rotates after the write that crosses the limit, and reads at most
// 128 KiB at a time.
const rotationSlack = 128 << 10

// checkKept verifies the rotating log set: every backup holds maxbytes
// (plus at most one read's worth), the current file less, and together
// they are exactly the last bytes of the stream. It returns the bytes kept.
func checkKept(files []string, total, maxBytes int64) (int64, error) {
	var kept int64
	var readers []io.Reader
	var problems []string
	for i, name := range files {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return kept, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return kept, err
		}
		size := st.Size()
		isBackup := i < len(files)-1
		if (isBackup && size < maxBytes) || size > maxBytes+rotationSlack {
			problems = append(problems, fmt.Sprintf("%s has %d bytes", filepath.Base(name), size))
		}
		kept += size
		readers = append(readers, f)
	}
	backups := int64(len(files) - 1)
	if want := min(total, backups*maxBytes); kept < want {
		problems = append(problems, fmt.Sprintf("%d bytes kept, want at least %d", kept, want))
	}
	if err := checkSuffix(io.MultiReader(readers...), kept, total); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return kept, fmt.Errorf("rotated logs: %s", strings.Join(problems, "; "))
	}
	return kept, nil
}
