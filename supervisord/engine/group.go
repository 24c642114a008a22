package engine

import (
	"cmp"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
	"time"

	"gosupervisor/config"
	"gosupervisor/internal/protocol"
	"gosupervisor/internal/pyrepr"
	"gosupervisor/internal/safefs"
	"gosupervisor/logrot"
)

// logWriter is one channel's log file; nil means NONE.
type logWriter = *logrot.Writer

// group is an active process group.
type group struct {
	cfg *config.Group
	// src is the configuration the group was built from: its
	// [supervisord] environment and servers apply to the group's children.
	src   *config.Config
	procs []*process // in config order: (priority, name)
	// socket is the listening fcgi socket every process gets as fd 0.
	socket *os.File
}

func (g *group) unstopped() []*process {
	var out []*process
	for _, p := range g.procs {
		if !p.state.IsStopped() {
			out = append(out, p)
		}
	}
	return out
}

// addGroup activates a group: AUTO log files, fcgi socket, process records.
func (e *Engine) addGroup(gc *config.Group) error {
	g := &group{cfg: gc, src: e.cfg}
	for _, pc := range gc.Processes {
		e.lastID++
		p := &process{cfg: pc, group: g, exitStatus: 0, res: resState{id: e.lastID}}
		for _, ch := range protocol.Channels {
			if ch == protocol.Stderr && pc.RedirectStderr {
				continue // no file of its own
			}
			var err error
			if p.logs[ch].path, err = e.logPath(pc, ch); err != nil {
				return err
			}
		}
		g.procs = append(g.procs, p)
	}
	if g.isFCGI() {
		// Created and closed once as a check, as the reference does; the
		// first spawn creates it for good.
		if _, err := e.acquireSocket(g); err != nil {
			return fmt.Errorf("Could not create FastCGI socket %s: %w", gc.Socket.URL, err)
		}
		e.releaseSocket(g)
	}
	e.groups[gc.Name] = g
	// By priority, ties in the order the groups were added: the reference
	// sorts its group dict by priority alone, so a group added at run time
	// comes after the groups of its priority that were there before (the
	// config's own order, by priority then name, is the start-up one).
	e.order = append(e.order, g)
	slices.SortStableFunc(e.order, func(a, b *group) int { return cmp.Compare(a.cfg.Priority, b.cfg.Priority) })
	e.rebuildDeps()
	e.groupAdded(g)
	return nil
}

// removeGroup deactivates a group whose processes are all stopped.
func (e *Engine) removeGroup(g *group) {
	delete(e.groups, g.cfg.Name)
	e.order = slices.DeleteFunc(e.order, func(x *group) bool { return x == g })
	e.rebuildDeps()
	e.groupRemoved(g)
	e.closeGroup(g)
}

func (e *Engine) closeGroup(g *group) {
	if g.socket != nil {
		e.log.Logf(protocol.LevelInfo, "Closing socket %s", g.cfg.Socket.URL)
		g.socket.Close()
		g.socket = nil
	}
	for _, p := range g.procs {
		e.releaseLeaf(p)
		if p.io != nil {
			p.io.abandon(time.Now())
			p.io = nil
		}
		for ch := range p.logs {
			if w := p.logs[ch].w; w != nil {
				w.Close()
				p.logs[ch].w = nil
			}
		}
	}
}

// closeGroups releases every group's files when the engine ends.
func (e *Engine) closeGroups() {
	for _, g := range e.order {
		e.closeGroup(g)
	}
}

// allWriters lists every open child log writer.
func (e *Engine) allWriters() []logWriter {
	var out []logWriter
	for _, g := range e.order {
		for _, p := range g.procs {
			out = append(out, p.writers()...)
		}
	}
	return out
}

// logPath resolves a channel's log file, creating AUTO files (0600) now as
// the reference does when it builds the group.
func (e *Engine) logPath(pc *config.Process, ch protocol.Channel) (string, error) {
	lc := pc.Log(ch)
	if !lc.Auto {
		return lc.File, nil
	}
	dir := e.cfg.Supervisord.ChildLogDir
	if dir == "" {
		dir = os.TempDir()
	}
	prefix := fmt.Sprintf("%s-%s---%s-", pc.Name, ch, e.identifier)
	for range 100 {
		path := filepath.Join(dir, prefix+randomSuffix()+".log")
		f, err := safefs.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if os.IsExist(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("program %q: create AUTO %s log: %w", pc.Name, ch, err)
		}
		f.Close()
		return path, nil
	}
	return "", fmt.Errorf("program %q: no free AUTO %s log name in %s", pc.Name, ch, dir)
}

// randomSuffix is 8 characters as Python's tempfile names use.
func randomSuffix() string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789_"
	var b [8]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b[:])
}

// cleanAutoLogs removes AUTO child logs an earlier run left in dir.
func cleanAutoLogs(log Logger, dir, identifier string) {
	if dir == "" {
		dir = os.TempDir()
	}
	re := regexp.MustCompile(`^.+?---` + regexp.QuoteMeta(identifier) + `-\S+\.log\.?\d{0,4}`)
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Logf(protocol.LevelWarn, "Could not clear childlog dir")
		return
	}
	for _, ent := range entries {
		if !re.MatchString(ent.Name()) {
			continue
		}
		path := filepath.Join(dir, ent.Name())
		// unlink, not os.Remove: a directory that happens to match is
		// left alone (and warned about), as the reference's os.remove does.
		if err := syscall.Unlink(path); err != nil && !os.IsNotExist(err) {
			log.Logf(protocol.LevelWarn, "Failed to clean up %s", pyrepr.Str(path))
		}
	}
}
