package ctl

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"
)

// shellInput is the interactive shell's source of lines: a line editor on
// a terminal, plain line reads otherwise.
type shellInput interface {
	lineInput
	// LoadHistory reads a history file (one entry per line); a missing
	// file is not an error.
	LoadHistory(path string)
	// SaveHistory writes the history back (mode 0600 when created).
	SaveHistory(path string)
	// SetCompleter installs tab completion: given the whole line and the
	// word being completed, it returns the candidates.
	SetCompleter(func(line, word string) []string)
	Close()
}

// newInput picks the line editor when stdin and stdout are both
// terminals, as Python's input() uses readline only then.
func newInput(stdin io.Reader, stdout io.Writer, notify func() (<-chan struct{}, func())) shellInput {
	in, inOK := stdin.(*os.File)
	out, outOK := stdout.(*os.File)
	if inOK && outOK && isTerminal(in) && isTerminal(out) {
		return newEditor(in, out)
	}
	return newPlainInput(stdin, stdout, notify)
}

// shell is the interactive loop: status first, then one command per line
// until EOF, quit/exit or Ctrl-C.
func (c *controller) shell(in shellInput) {
	if c.opts.historyFile != "" {
		in.LoadHistory(c.opts.historyFile)
		defer in.SaveHistory(c.opts.historyFile)
	}
	in.SetCompleter(c.complete)
	line := "status"
	for !c.onecmd(line) {
		var err error
		line, err = in.ReadLine(c.opts.prompt + "> ")
		if errors.Is(err, errInterrupted) {
			c.output("")
			return
		}
		if err != nil {
			line = "EOF"
		}
	}
	if c.interrupted {
		c.output("")
	}
}

// complete returns the completions of word in line, as the reference's
// readline completer builds them (each with a trailing space).
func (c *controller) complete(line, word string) []string {
	fields := strings.Fields(line)
	switch {
	case len(fields) == 0, len(fields) == 1 && !strings.HasSuffix(line, " "):
		return c.completeActions(word)
	}
	switch fields[0] {
	case "help":
		return c.completeActions(word)
	case "add", "remove", "update":
		var out []string
		seen := map[string]bool{}
		for _, info := range c.completionInfo() {
			if !seen[info.Group] && strings.HasPrefix(info.Group, word) {
				out = append(out, info.Group+" ")
			}
			seen[info.Group] = true
		}
		return out
	case "clear", "fg", "pid", "restart", "signal", "start", "status", "stop", "tail":
		var names []string
		seen := map[string]bool{}
		for _, info := range c.completionInfo() {
			if strings.Contains(word, ":") || info.Name != info.Group {
				names = append(names, info.Group+":"+info.Name)
				if star := info.Group + ":*"; !seen[star] {
					seen[star] = true
					names = append(names, star)
				}
			} else {
				names = append(names, info.Name)
			}
		}
		var out []string
		for _, n := range names {
			if strings.HasPrefix(n, word) {
				out = append(out, n+" ")
			}
		}
		return out
	}
	return nil
}

func (c *controller) completeActions(word string) []string {
	var out []string
	for _, name := range append([]string{"help"}, listedCommands()...) {
		if strings.HasPrefix(name, word) {
			out = append(out, name+" ")
		}
	}
	return out
}

// completionInfo caches getAllProcessInfo until the next command, since
// one tab press may ask for several completions.
func (c *controller) completionInfo() []processInfo {
	if !c.haveComplete {
		var infos []processInfo
		if err := c.call("getAllProcessInfo", &infos); err != nil {
			return nil
		}
		c.completeInfo, c.haveComplete = infos, true
	}
	return c.completeInfo
}

// plainInput reads lines from a non-terminal: the prompt is written to
// stdout, Ctrl-C (SIGINT) interrupts a wait.
type plainInput struct {
	out      io.Writer
	notify   func() (<-chan struct{}, func())
	requests chan struct{}
	lines    chan lineOrErr
	pending  bool // a request is outstanding (a read was interrupted)
	history  []string
	done     chan struct{}
}

type lineOrErr struct {
	line string
	err  error
}

func newPlainInput(in io.Reader, out io.Writer, notify func() (<-chan struct{}, func())) *plainInput {
	p := &plainInput{
		out:      out,
		notify:   notify,
		requests: make(chan struct{}),
		lines:    make(chan lineOrErr, 1),
		done:     make(chan struct{}),
	}
	go p.reader(bufio.NewReader(in))
	return p
}

// reader reads one line per request, so nothing is consumed before it is
// asked for; it ends at end of input or on Close.
func (p *plainInput) reader(r *bufio.Reader) {
	for {
		select {
		case <-p.requests:
		case <-p.done:
			return
		}
		line, err := r.ReadString('\n')
		if err != nil && line != "" {
			err = nil
		}
		p.lines <- lineOrErr{strings.TrimRight(line, "\r\n"), err}
		if err != nil {
			return
		}
	}
}

func (p *plainInput) ReadLine(prompt string) (string, error) {
	io.WriteString(p.out, prompt)
	if !p.pending {
		// The reader waits for a request whenever nothing is pending: it
		// only stops after an error, which leaves pending set.
		p.requests <- struct{}{}
		p.pending = true
	}
	interrupts, stop := p.notify()
	defer stop()
	select {
	case r := <-p.lines:
		if r.err != nil {
			p.lines <- r // stay at EOF for later reads
			return "", io.EOF
		}
		p.pending = false
		return r.line, nil
	case <-interrupts:
		return "", errInterrupted
	}
}

func (p *plainInput) ReadPassword(prompt string) (string, error) {
	return p.ReadLine(prompt)
}

func (p *plainInput) LoadHistory(path string) { p.history = readHistory(path) }
func (p *plainInput) SaveHistory(path string) { writeHistory(path, p.history) }
func (p *plainInput) SetCompleter(func(line, word string) []string) {
}

func (p *plainInput) Close() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
}

func readHistory(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func writeHistory(path string, history []string) {
	var b strings.Builder
	for _, h := range history {
		if h != "" {
			b.WriteString(h + "\n")
		}
	}
	// Like readline, a history that cannot be written is silently kept.
	_ = os.WriteFile(path, []byte(b.String()), 0o600)
}
