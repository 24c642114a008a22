package ctl

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// wordBreaks are readline's default completion word delimiters; the
// reference removes ':', '*' and '-' from them, none of which is here.
const wordBreaks = " \t\n\"\\'`@$><=;|&{("

// editor is a small readline: it puts the terminal in raw mode only while
// a line is being typed, and offers history and tab completion.
type editor struct {
	in       *os.File
	out      *os.File
	r        *bufio.Reader
	history  []string
	complete func(line, word string) []string
}

func newEditor(in, out *os.File) *editor {
	return &editor{in: in, out: out, r: bufio.NewReader(in)}
}

func (e *editor) LoadHistory(path string)                         { e.history = readHistory(path) }
func (e *editor) SaveHistory(path string)                         { writeHistory(path, e.history) }
func (e *editor) SetCompleter(f func(line, word string) []string) { e.complete = f }
func (e *editor) Close()                                          {}

func (e *editor) ReadLine(prompt string) (string, error) {
	line, err := e.read(prompt, true)
	if err == nil && line != "" && (len(e.history) == 0 || e.history[len(e.history)-1] != line) {
		e.history = append(e.history, line)
	}
	return line, err
}

func (e *editor) ReadPassword(prompt string) (string, error) {
	return e.read(prompt, false)
}

// lineState is the line being edited.
type lineState struct {
	buf []rune
	pos int
}

func (s *lineState) insert(text []rune) {
	s.buf = append(s.buf[:s.pos], append(text, s.buf[s.pos:]...)...)
	s.pos += len(text)
}

func (s *lineState) set(text string) {
	s.buf = []rune(text)
	s.pos = len(s.buf)
}

// read edits one line in raw mode; echo=false hides it (passwords).
func (e *editor) read(prompt string, echo bool) (string, error) {
	fd := int(e.in.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", fmt.Errorf("terminal settings: %w", err)
	}
	raw := *old
	raw.Iflag &^= unix.ICRNL | unix.IXON | unix.INLCR | unix.IGNCR
	raw.Lflag &^= unix.ECHO | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return "", fmt.Errorf("raw terminal: %w", err)
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)

	io.WriteString(e.out, prompt)
	var s lineState
	histIdx, draft := len(e.history), ""
	tabs := 0
	redraw := func() {
		if !echo {
			return
		}
		tail := len(s.buf) - s.pos
		out := "\r" + prompt + string(s.buf) + "\x1b[K"
		if tail > 0 {
			out += fmt.Sprintf("\x1b[%dD", tail)
		}
		io.WriteString(e.out, out)
	}
	recall := func(idx int) {
		if idx < 0 || idx > len(e.history) {
			return
		}
		if histIdx == len(e.history) {
			draft = string(s.buf)
		}
		histIdx = idx
		if idx == len(e.history) {
			s.set(draft)
		} else {
			s.set(e.history[idx])
		}
	}
	for {
		r, _, err := e.r.ReadRune()
		if err != nil {
			return "", io.EOF
		}
		if r == '\t' {
			tabs++
		} else {
			tabs = 0
		}
		switch r {
		case '\r', '\n':
			// The terminal still maps \n to \r\n (OPOST is left on).
			io.WriteString(e.out, "\n")
			return string(s.buf), nil
		case 3: // Ctrl-C: the caller prints the newline, as readline shows no ^C
			return "", errInterrupted
		case 4: // Ctrl-D: end of input on an empty line
			if len(s.buf) == 0 {
				return "", io.EOF
			}
			if s.pos < len(s.buf) {
				s.buf = append(s.buf[:s.pos], s.buf[s.pos+1:]...)
			}
		case 127, 8: // backspace
			if s.pos > 0 {
				s.buf = append(s.buf[:s.pos-1], s.buf[s.pos:]...)
				s.pos--
			}
		case 1:
			s.pos = 0
		case 5:
			s.pos = len(s.buf)
		case 2:
			s.pos = max(0, s.pos-1)
		case 6:
			s.pos = min(len(s.buf), s.pos+1)
		case 11: // kill to end of line
			s.buf = s.buf[:s.pos]
		case 21: // kill to start of line
			s.buf = append([]rune{}, s.buf[s.pos:]...)
			s.pos = 0
		case 23: // delete the word before the cursor
			start := s.pos
			for start > 0 && s.buf[start-1] == ' ' {
				start--
			}
			for start > 0 && s.buf[start-1] != ' ' {
				start--
			}
			s.buf = append(s.buf[:start], s.buf[s.pos:]...)
			s.pos = start
		case 16:
			recall(histIdx - 1)
		case 14:
			recall(histIdx + 1)
		case '\t':
			if echo {
				e.completeWord(&s, prompt, tabs)
			}
		case 27:
			e.escape(&s, recall, histIdx)
		default:
			if r < 32 {
				break
			}
			if s.pos == len(s.buf) {
				// Typing at the end of the line needs no redraw.
				s.insert([]rune{r})
				if echo {
					io.WriteString(e.out, string(r))
				}
				continue
			}
			s.insert([]rune{r})
		}
		redraw()
	}
}

// escape handles the arrow, home, end and delete key sequences.
func (e *editor) escape(s *lineState, recall func(int), histIdx int) {
	b, err := e.r.ReadByte()
	if err != nil || (b != '[' && b != 'O') {
		return
	}
	code, err := e.r.ReadByte()
	if err != nil {
		return
	}
	switch code {
	case 'A':
		recall(histIdx - 1)
	case 'B':
		recall(histIdx + 1)
	case 'C':
		s.pos = min(len(s.buf), s.pos+1)
	case 'D':
		s.pos = max(0, s.pos-1)
	case 'H':
		s.pos = 0
	case 'F':
		s.pos = len(s.buf)
	case '3':
		if t, _ := e.r.ReadByte(); t == '~' && s.pos < len(s.buf) {
			s.buf = append(s.buf[:s.pos], s.buf[s.pos+1:]...)
		}
	}
}

// completeWord completes the word before the cursor: one candidate
// replaces it, several extend it to their common prefix, and a second tab
// lists them, like readline.
func (e *editor) completeWord(s *lineState, prompt string, tabs int) {
	if e.complete == nil {
		return
	}
	start := s.pos
	for start > 0 && !strings.ContainsRune(wordBreaks, s.buf[start-1]) {
		start--
	}
	word := string(s.buf[start:s.pos])
	matches := e.complete(string(s.buf), word)
	if len(matches) == 0 {
		io.WriteString(e.out, "\a")
		return
	}
	prefix := matches[0]
	for _, m := range matches[1:] {
		for !strings.HasPrefix(m, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	if len(prefix) > len(word) {
		rest := append([]rune(prefix), s.buf[s.pos:]...)
		s.buf = append(s.buf[:start], rest...)
		s.pos = start + len([]rune(prefix))
		return
	}
	if tabs < 2 {
		io.WriteString(e.out, "\a")
		return
	}
	io.WriteString(e.out, "\n"+listMatches(matches, 80))
}

// listMatches lays candidates out as readline lists them: sorted, down
// the columns, each padded to the longest plus two.
func listMatches(matches []string, screenWidth int) string {
	sorted := append([]string(nil), matches...)
	sort.Strings(sorted)
	width := 0
	for _, m := range sorted {
		width = max(width, utf8.RuneCountInString(m)+2)
	}
	cols := max(1, screenWidth/width)
	rows := (len(sorted) + cols - 1) / cols
	var b strings.Builder
	for row := 0; row < rows; row++ {
		for col := 0; col < cols; col++ {
			if i := row + rows*col; i < len(sorted) {
				b.WriteString(ljust(sorted[i], width))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
