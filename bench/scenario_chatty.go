package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gosupervisor/internal/protocol"
)

func chattyScenario() *Scenario {
	return &Scenario{
		Name:  "chatty",
		Title: "chatty programs (a line every interval each)",
		Notes: []string{"CPU window: from the socket answering until every child has EXITED"},
		Figures: []Figure{
			{Key: "cpu", Label: "daemon CPU", Unit: "% core", Target: Target{RatioAtMost, 0.15}},
			{Key: "lines", Label: "lines the children wrote", Unit: "lines"},
			{Key: "lost", Label: "lines lost", Unit: "lines", Target: Target{Equal, 0}},
		},
		Run: runChattyScenario,
	}
}

func runChattyScenario(ctx context.Context, env *Env) (Sample, error) {
	p := env.Params
	s := Sample{}
	cmd, err := env.helperCommand("chatty", "-name", "c%(process_num)02d", "-every", p.ChattyEvery,
		"-size", p.ChattyLineSize, "-for", p.ChattyFor,
		"-count-file", filepath.Join(env.Dir, "count_%(process_num)02d"))
	if err != nil {
		return s, err
	}
	cfg := DaemonConfig{Dir: env.Dir, Programs: []Program{{Name: "chatty", Command: cmd, Settings: []Setting{
		{"numprocs", strconv.Itoa(p.ChattyProcs)},
		{"process_name", "%(program_name)s_%(process_num)02d"},
		{"autorestart", "false"},
		{"stdout_logfile", filepath.Join(env.Dir, "chatty_%(process_num)02d.log")},
		{"stdout_logfile_maxbytes", "0"},
		{"stderr_logfile", filepath.Join(env.Dir, "chatty_%(process_num)02d.err")},
	}}}}
	d, err := StartDaemon(ctx, env.Bin, cfg)
	if err != nil {
		return s, err
	}
	defer d.Close()
	u0, err := d.Usage()
	if err != nil {
		return s, err
	}
	t0 := time.Now()
	if err := waitAllInState(ctx, d, p.ChattyProcs, protocol.StateExited, 500*time.Millisecond, p.ChattyFor+time.Minute); err != nil {
		return s, err
	}
	u1, err := d.Usage()
	if err != nil {
		return s, err
	}
	s["cpu"] = 100 * (u1.CPU - u0.CPU).Seconds() / time.Since(t0).Seconds()
	// The daemon may still hold unread output when it reports the exit.
	// A timeout here is not an error: what is still missing is lost.
	_ = pollUntil(ctx, d, 100*time.Millisecond, 10*time.Second, "every line in the logs", func() (bool, error) {
		said, got, err := countChattyLines(env.Dir, p.ChattyProcs)
		return err == nil && got >= said, err
	})
	said, got, err := countChattyLines(env.Dir, p.ChattyProcs)
	if err != nil {
		return s, err
	}
	s["lines"] = float64(said)
	s["lost"] = float64(max(0, said-got))
	if got > said {
		return s, fmt.Errorf("logs hold %d lines, children wrote %d", got, said)
	}
	return s, nil
}

// countChattyLines sums what each chatty child says it wrote and the lines
// its log holds.
func countChattyLines(dir string, procs int) (said, got int, err error) {
	for i := range procs {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("count_%02d", i)))
		if err != nil {
			return said, got, fmt.Errorf("child %d count: %w", i, err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return said, got, fmt.Errorf("child %d count: %w", i, err)
		}
		said += n
		log, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("chatty_%02d.log", i)))
		if err != nil {
			return said, got, fmt.Errorf("child %d log: %w", i, err)
		}
		got += bytes.Count(log, []byte{'\n'})
	}
	return said, got, nil
}
