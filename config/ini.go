package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"gosupervisor/internal/pyrepr"
)

// iniFile is the result of reading one or more files the way Supervisor's
// configparser.RawConfigParser does (strict=False, inline comment prefixes
// ";" and "#", delimiters "=" and ":", lower-cased option names, a
// [DEFAULT] section whose keys every section inherits).
//
// gopkg.in/ini.v1 is not used. With its closest LoadOptions
// (InsensitiveKeys, SpaceBeforeInlineComment, AllowPythonMultilineValues,
// KeyValueDelimiters "=:") it still differs where users can see it:
// "k=a#b #c ;d" gives "a#b" (the reference: "a#b #c"), a blank line inside
// an indented continuation is an error (the reference keeps it), a stray
// "[program:b" line is an "unclosed section" error (the reference reads it
// as the key "[program" = "b"), and its error texts are not the
// reference's "Source contains parsing errors: ..." lines.
type iniFile struct {
	sections      map[string]*iniSection
	order         []string // section names in first-seen order
	defaults      *iniSection
	sectionToFile map[string]string // sections first seen in an included file
	// asked records every (section, key) the loader looked up with get,
	// present or not: what the daemon reads, for telling unknown keys.
	asked map[string]map[string]bool
	// lastAsked is the latest get: the key being read when Load fails.
	lastAsked sectionKey
	// badLine is where the text that could not be read is (the first
	// bad line of a parsing error); zero when all was read.
	badLine Position
}

// iniSection holds one section's options in first-seen order, and where
// they are written (positions play no part in parsing).
type iniSection struct {
	values map[string]string
	keys   []string
	// headers are the section's [name] lines in reading order (a name
	// may be repeated: the reference merges the sections).
	headers []Position
	// at is where each key's value in effect was set.
	at map[string]Position
}

func newIniSection() *iniSection {
	return &iniSection{values: map[string]string{}, at: map[string]Position{}}
}

func (s *iniSection) set(key, value string) {
	if _, ok := s.values[key]; !ok {
		s.keys = append(s.keys, key)
	}
	s.values[key] = value
}

func newIniFile() *iniFile {
	return &iniFile{
		sections:      map[string]*iniSection{},
		defaults:      newIniSection(),
		sectionToFile: map[string]string{},
		asked:         map[string]map[string]bool{},
	}
}

// hasSection reports whether a (non-DEFAULT) section exists.
func (f *iniFile) hasSection(name string) bool {
	_, ok := f.sections[name]
	return ok
}

// get returns an option of a section, falling back to [DEFAULT], and
// records that the loader reads the key in the section.
func (f *iniFile) get(section, key string) (string, bool) {
	if f.asked[section] == nil {
		f.asked[section] = map[string]bool{}
	}
	f.asked[section][key] = true
	f.lastAsked = sectionKey{section, key}
	return f.peek(section, key)
}

// peek is get without recording the look-up.
func (f *iniFile) peek(section, key string) (string, bool) {
	if s, ok := f.sections[section]; ok {
		if v, ok := s.values[key]; ok {
			return v, true
		}
	}
	v, ok := f.defaults.values[key]
	return v, ok
}

// options lists a section's option names followed by inherited defaults.
func (f *iniFile) options(section string) []string {
	s := f.sections[section]
	var out []string
	if s != nil {
		out = append(out, s.keys...)
	}
	for _, k := range f.defaults.keys {
		if s == nil {
			out = append(out, k)
			continue
		}
		if _, ok := s.values[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// expandHere replaces %(here)s literally in every value of every section
// (including inherited defaults, which get copied into the section), as
// Supervisor does once per file when the config has an [include].
func (f *iniFile) expandHere(here string) {
	const marker = "%(here)s"
	for _, name := range f.order {
		for _, k := range f.options(name) {
			v, _ := f.peek(name, k)
			if strings.Contains(v, marker) {
				f.sections[name].set(k, strings.ReplaceAll(v, marker, here))
			}
		}
	}
}

// parsingError mirrors configparser.ParsingError's text.
type parsingError struct {
	source string
	lines  []string
}

func (e *parsingError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Source contains parsing errors: %s", pyrepr.Str(e.source))
	for _, l := range e.lines {
		b.WriteString(l)
	}
	return b.String()
}

// decodeError is text that is not UTF-8, with the offset of the first
// bad byte.
type decodeError struct {
	offset int
	msg    string
}

func (e *decodeError) Error() string { return e.msg }

// decodeText converts file bytes to lines as Python's text mode does:
// strict UTF-8 and universal newlines. Each line keeps its "\n".
func decodeText(data []byte) ([]string, error) {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			reason := "invalid start byte"
			if data[i] >= 0xc2 && data[i] <= 0xf4 {
				if !utf8.FullRune(data[i:]) {
					reason = "unexpected end of data"
				} else {
					reason = "invalid continuation byte"
				}
			}
			return nil, &decodeError{offset: i, msg: fmt.Sprintf("'utf-8' codec can't decode byte 0x%02x in position %d: %s", data[i], i, reason)}
		}
		i += size
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	var lines []string
	for text != "" {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			lines = append(lines, text)
			break
		}
		lines = append(lines, text[:i+1])
		text = text[i+1:]
	}
	return lines, nil
}

// pyIsSpace is Python's str.isspace for one character.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// read parses one file's text into f, following RawConfigParser._read.
func (f *iniFile) read(data []byte, source string) error {
	lines, err := decodeText(data)
	if err != nil {
		var de *decodeError
		if errors.As(err, &de) {
			f.badLine = Position{File: source, Line: 1 + bytes.Count(data[:de.offset], []byte("\n"))}
		}
		return err
	}
	var (
		cur         *iniSection
		optname     string
		hasOpt      bool
		indentLevel = 0
		perr        *parsingError
		multi       = map[*iniSection]map[string][]string{}
	)
	addErr := func(lineno int, line string) {
		if perr == nil {
			perr = &parsingError{source: source}
			f.badLine = Position{File: source, Line: lineno}
		}
		perr.lines = append(perr.lines, fmt.Sprintf("\n\t[line %2d]: %s", lineno, pyrepr.Str(line)))
	}
	appendValue := func(s *iniSection, key, v string) {
		multi[s][key] = append(multi[s][key], v)
	}
	for idx, line := range lines {
		lineno := idx + 1
		commentStart := commentIndex(line)
		stripped := pyStrip(line)
		if strings.HasPrefix(stripped, "#") || strings.HasPrefix(stripped, ";") {
			commentStart = 0
		}
		value := line
		if commentStart >= 0 {
			value = line[:commentStart]
		}
		value = pyStrip(value)
		if value == "" {
			if commentStart < 0 && cur != nil && hasOpt && optname != "" {
				appendValue(cur, optname, "")
			}
			continue
		}
		curIndent := strings.IndexFunc(line, func(r rune) bool { return !pyIsSpace(r) })
		curIndent = utf8.RuneCountInString(line[:max(curIndent, 0)])
		if cur != nil && hasOpt && optname != "" && curIndent > indentLevel {
			appendValue(cur, optname, value)
			continue
		}
		indentLevel = curIndent
		if header, ok := sectionHeader(value); ok {
			if s, exists := f.sections[header]; exists {
				cur = s
			} else if header == "DEFAULT" {
				cur = f.defaults
			} else {
				cur = newIniSection()
				f.sections[header] = cur
				f.order = append(f.order, header)
			}
			if multi[cur] == nil {
				multi[cur] = map[string][]string{}
			}
			cur.headers = append(cur.headers, Position{File: source, Line: lineno})
			hasOpt = false
			optname = ""
			continue
		}
		if cur == nil {
			f.badLine = Position{File: source, Line: lineno}
			return fmt.Errorf("File contains no section headers.\nfile: %s, line: %d\n%s", pyrepr.Str(source), lineno, pyrepr.Str(line))
		}
		name, val, ok := splitOption(value)
		if !ok {
			addErr(lineno, line)
			continue
		}
		if name == "" {
			addErr(lineno, line)
		}
		optname = strings.ToLower(strings.TrimRightFunc(name, pyIsSpace))
		hasOpt = true
		multi[cur][optname] = []string{pyStrip(val)}
		cur.set(optname, "")
		cur.at[optname] = Position{File: source, Line: lineno}
	}
	for s, opts := range multi {
		for k, parts := range opts {
			s.values[k] = strings.TrimRightFunc(strings.Join(parts, "\n"), pyIsSpace)
		}
	}
	if perr != nil {
		return perr
	}
	return nil
}

// commentIndex finds where an inline comment starts, reproducing the
// reference's scan: each round advances every prefix to its next
// occurrence and stops at the first round where some occurrence is at the
// start of the line or follows whitespace. -1 means no comment.
func commentIndex(line string) int {
	const none = -1
	best := none
	next := map[byte]int{';': -1, '#': -1}
	for best == none && len(next) > 0 {
		found := map[byte]int{}
		for _, p := range []byte{';', '#'} {
			from, ok := next[p]
			if !ok {
				continue
			}
			i := strings.IndexByte(line[from+1:], p)
			if i < 0 {
				continue
			}
			i += from + 1
			found[p] = i
			if i == 0 || precededBySpace(line, i) {
				if best == none || i < best {
					best = i
				}
			}
		}
		next = found
	}
	return best
}

func precededBySpace(line string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(line[:i])
	return pyIsSpace(r)
}

// sectionHeader matches `\[(.+)\]` at the start of value (greedy, so the
// header runs to the last "]").
func sectionHeader(value string) (string, bool) {
	if !strings.HasPrefix(value, "[") {
		return "", false
	}
	end := strings.LastIndexByte(value, ']')
	if end < 2 {
		return "", false
	}
	return value[1:end], true
}

// splitOption matches `(.*?)\s*(=|:)\s*(.*)$`: the option name ends at the
// first delimiter.
func splitOption(value string) (name, val string, ok bool) {
	i := strings.IndexAny(value, "=:")
	if i < 0 {
		return "", "", false
	}
	name = strings.TrimRightFunc(value[:i], pyIsSpace)
	val = strings.TrimLeftFunc(value[i+1:], pyIsSpace)
	return name, val, true
}
