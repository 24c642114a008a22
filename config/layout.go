package config

import (
	"fmt"
	"slices"
	"strings"

	"gosupervisor/internal/protocol"
)

// Position is a line of a configuration file.
type Position struct {
	// File is the main file as Load was given it, or an included file's
	// path as the include pattern matched it.
	File string
	// Line counts from 1; 0 means the file as a whole.
	Line int
}

// String is "file:line" (or the file alone).
func (p Position) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

type sectionKey struct{ section, key string }

// Layout is where things are written in the configuration files and
// which of the keys written there the daemon reads. Load fills it for
// tools (a config checker) and for the unknown-key warnings; parsing does
// not depend on it.
type Layout struct {
	// Sections are every section written, in first-seen order, DEFAULT
	// first when the files have one.
	Sections []*SectionLayout
	// Includes are the [include] files= patterns in reading order.
	Includes []Include
	// Notices are the reference's parse warnings (Config.Messages at
	// level WARN), located; a process section's are repeated for each
	// of its processes, as the reference logs them.
	Notices []Notice
	// Failure is where the error Load returned comes from; nil when Load
	// succeeded.
	Failure *Failure

	// asked is every key the loader looked up, by section (tests compare
	// it with what the reference looks up).
	asked map[string]map[string]bool
}

// SectionLayout is one section as written (repeated headers of one name
// are one section: the reference merges them).
type SectionLayout struct {
	Name string
	// Known reports that the daemon reads sections of this name: the
	// reference's fixed vocabulary ([supervisord], [program:x], …).
	Known bool
	// Nearest is, for an unknown section, the known name closest to it
	// ("program:web" for "progam:web"); "" when none is close.
	Nearest string
	// Headers are the section's [name] lines, in reading order.
	Headers []Position
	// Keys are the keys written in the section (not those it inherits
	// from DEFAULT), in first-seen order.
	Keys []*KeyLayout
}

// KeyLayout is one key as written in a section.
type KeyLayout struct {
	Name string // lower-case, as the reader folds it
	// At is where the value in effect is set (the last assignment).
	At Position
	// Known reports that the daemon reads the key in this section. A
	// DEFAULT key is known when some section that inherits it reads it.
	Known bool
	// Extension reports a known key that Supervisor 4.2.5 ignores.
	Extension bool
	// Nearest is, for an unknown key, the known key of the section
	// closest to it ("stopwaitsecs" for "stopwaitsec"); "" when none is.
	Nearest string
}

// Include is one pattern of [include] files=.
type Include struct {
	// Pattern is the pattern as globbed: expanded and made absolute.
	Pattern string
	// At is the files= line.
	At Position
	// Files are the files it matched, in reading order.
	Files []string
}

// Notice is one of the reference's parse warnings.
type Notice struct {
	// Code names the warning: include-no-match, redirect-stderr-logfile,
	// syslog-logfile (deprecated), auto-log-without-rollover.
	Code string
	// Section and Key are what it is about; At is where the key is set
	// (else the section's header).
	Section, Key string
	At           Position
	// Text is the reference's line.
	Text string
}

// Failure locates the error of a Load that failed.
type Failure struct {
	// Section is the section being read; "" when the text itself could
	// not be read or the error concerns no section.
	Section string
	// Key is the key being read; "" when the error concerns the section
	// as a whole.
	Key string
	// At is the key's line when it is written, else the section's first
	// header, else the text that could not be read, else the main file.
	At Position
}

// Section returns the section named name, nil when it is not written.
func (l *Layout) Section(name string) *SectionLayout {
	for _, s := range l.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Key returns the key named name as written in s, nil when it is not.
func (s *SectionLayout) Key(name string) *KeyLayout {
	if s == nil {
		return nil
	}
	for _, k := range s.Keys {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// Where is the line a key of a section is set on: the section's own
// line, else DEFAULT's, else the section's first header; ok is false when
// the section is not written at all.
func (l *Layout) Where(section, key string) (Position, bool) {
	s := l.Section(section)
	if s == nil {
		return Position{}, false
	}
	if key != "" {
		if k := s.Key(key); k != nil {
			return k.At, true
		}
		if k := l.Section("DEFAULT").Key(key); k != nil {
			return k.At, true
		}
	}
	return s.Headers[0], true
}

// processSectionKinds are the prefixes of the sections whose keys are the
// table's (processKeys), with the kind of group each makes.
var processSectionKinds = []struct {
	prefix string
	kind   GroupKind
}{
	{"program:", KindProgram},
	{"group:", KindGroup},
	{"eventlistener:", KindEventListener},
	{"fcgi-program:", KindFCGI},
}

// otherSections are the other sections Supervisor 4.2.5 reads, each with
// the keys it reads there (its fixed vocabulary: every key read beyond
// these is ours, an extension key). A name ending in ":" is a prefix; the
// reference matches the two server kinds by prefix too, colon or not.
// [rpcinterface:x] and [ctlplugin:x] pass every key to their factory.
var otherSections = []struct {
	name   string
	prefix bool
	keys   []string // nil: every key is read
}{
	{"supervisord", false, []string{
		"minfds", "minprocs", "directory", "user", "umask", "logfile", "logfile_maxbytes",
		"logfile_backups", "loglevel", "pidfile", "identifier", "nodaemon", "silent",
		"childlogdir", "nocleanup", "strip_ansi", "environment",
	}},
	{"supervisorctl", false, []string{"serverurl", "prompt", "username", "password", "history_file"}},
	{"include", false, []string{"files"}},
	{"unix_http_server", true, []string{"file", "username", "password", "chown", "chmod"}},
	{"inet_http_server", true, []string{"port", "username", "password"}},
	{"rpcinterface:", true, nil},
	{"ctlplugin:", true, nil},
}

// sectionVocabulary says how the daemon treats a section name: the group
// kind of a process section (isProcess), or the reference's keys of
// another known section (every key when anyKey).
type sectionVocabulary struct {
	known     bool
	isProcess bool
	kind      GroupKind
	refKeys   []string
	anyKey    bool
}

func vocabularyOf(name string) sectionVocabulary {
	for _, p := range processSectionKinds {
		if strings.HasPrefix(name, p.prefix) {
			return sectionVocabulary{known: true, isProcess: true, kind: p.kind}
		}
	}
	for _, o := range otherSections {
		if name == o.name || o.prefix && strings.HasPrefix(name, o.name) {
			return sectionVocabulary{known: true, refKeys: o.keys, anyKey: o.keys == nil}
		}
	}
	return sectionVocabulary{}
}

// nearestSection is the known section name closest to an unknown one:
// the kind before the ":" corrected, the name after it kept.
func nearestSection(name string) string {
	kind, rest, hasColon := strings.Cut(name, ":")
	var best string
	bestD := -1
	consider := func(cand string, full string) {
		if d := editDistance(kind, cand); nearEnough(kind, d) && (bestD < 0 || d < bestD) {
			best, bestD = full, d
		}
	}
	for _, p := range processSectionKinds {
		k := strings.TrimSuffix(p.prefix, ":")
		if hasColon {
			consider(k, k+":"+rest)
		}
	}
	for _, o := range otherSections {
		k := strings.TrimSuffix(o.name, ":")
		switch {
		case strings.HasSuffix(o.name, ":"):
			if hasColon {
				consider(k, k+":"+rest)
			}
		case !hasColon:
			consider(k, k)
		}
	}
	return best
}

// nearestKey is the candidate closest to an unknown key, "" when none is
// close; ties go to the earlier candidate.
func nearestKey(key string, candidates []string) string {
	var best string
	bestD := -1
	for _, c := range candidates {
		if d := editDistance(key, c); nearEnough(key, d) && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

// nearEnough reports whether a name at edit distance d from a word is close
// enough to suggest: one edit for short names, up to three for long ones.
func nearEnough(word string, d int) bool {
	n := len([]rune(word))
	switch {
	case d == 0:
		return false
	case n <= 4:
		return d <= 1
	case n <= 10:
		return d <= 2
	}
	return d <= 3
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of adjacent characters.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}

// knownSet is the keys the daemon reads in one section.
type knownSet struct {
	keys []string
	ext  map[string]bool // the extension keys among them
	// sure is false when the loader may not have asked for every key it
	// reads there (it stopped at an error before the section was done).
	sure bool
}

// knownKeys are the keys the daemon reads in a known section. For a
// process section they are the table's; for another, the reference's
// plus any key the loader asked for there (an extension key).
func (l *loader) knownKeys(name string, v sectionVocabulary, complete bool) knownSet {
	ext := map[string]bool{}
	if v.isProcess {
		var keys []string
		for _, k := range sectionKeys(l.keys, sectionKindOf(v.kind)) {
			keys = append(keys, k.Name)
			if k.Extension {
				ext[k.Name] = true
			}
		}
		return knownSet{keys, ext, true}
	}
	keys := slices.Clone(v.refKeys)
	var asked []string
	for k := range l.ini.asked[name] {
		if !slices.Contains(keys, k) {
			asked = append(asked, k)
		}
	}
	slices.Sort(asked)
	for _, k := range asked {
		keys = append(keys, k)
		ext[k] = true
	}
	return knownSet{keys, ext, complete}
}

// layout describes the files read so far. failed says Load is returning
// an error: sections other than process sections may then not have been
// read in full, and keys the loader did not reach there count as known
// (nothing can be said about them).
func (l *loader) layout(failed bool) *Layout {
	out := &Layout{Includes: l.includeList, asked: l.ini.asked}
	names := l.ini.order
	if len(l.ini.defaults.headers) > 0 {
		names = append([]string{"DEFAULT"}, names...)
	}
	knowns := map[string]knownSet{}
	for _, name := range names {
		if name == "DEFAULT" {
			continue
		}
		if v := vocabularyOf(name); v.known && !v.anyKey {
			knowns[name] = l.knownKeys(name, v, !failed)
		}
	}
	for _, name := range names {
		sec := l.ini.sections[name]
		if name == "DEFAULT" {
			sec = l.ini.defaults
		}
		v := vocabularyOf(name)
		sl := &SectionLayout{Name: name, Known: v.known || name == "DEFAULT", Headers: sec.headers}
		if !sl.Known {
			sl.Nearest = nearestSection(name)
		}
		for _, k := range sec.keys {
			at, written := sec.at[k]
			if !written {
				continue // a DEFAULT key copied in by %(here)s expansion
			}
			kl := &KeyLayout{Name: k, At: at, Known: true}
			switch {
			case name == "DEFAULT":
				defaultKey(kl, names, knowns)
			case v.known && !v.anyKey:
				kn := knowns[name]
				kl.Known = slices.Contains(kn.keys, k) || !kn.sure && !slices.Contains(v.refKeys, k)
				kl.Extension = kn.ext[k]
				if !kl.Known {
					kl.Nearest = nearestKey(k, kn.keys)
				}
			}
			sl.Keys = append(sl.Keys, kl)
		}
		out.Sections = append(out.Sections, sl)
	}
	for _, n := range l.warnings {
		n.At, _ = out.Where(n.Section, n.Key)
		out.Notices = append(out.Notices, n)
	}
	return out
}

// defaultKey decides a DEFAULT key: known where some section reads it,
// an extension when every section that reads it takes it as one.
func defaultKey(kl *KeyLayout, names []string, knowns map[string]knownSet) {
	kl.Known, kl.Extension = false, true
	var all []string
	for _, name := range names {
		kn, ok := knowns[name]
		if !ok {
			continue
		}
		for _, k := range kn.keys {
			if !slices.Contains(all, k) {
				all = append(all, k)
			}
		}
		if slices.Contains(kn.keys, kl.Name) {
			kl.Known = true
			kl.Extension = kl.Extension && kn.ext[kl.Name]
		}
	}
	if !kl.Known {
		kl.Extension = false
		kl.Nearest = nearestKey(kl.Name, all)
	}
}

// Warnings are the main-log lines about what the daemon ignores, which
// the reference ignores silently: one per unknown section, one per
// unknown key of a known section.
func (lay *Layout) Warnings() []Message {
	if lay == nil {
		return nil
	}
	var out []Message
	add := func(format string, args ...any) {
		out = append(out, Message{Level: protocol.LevelWarn, Text: fmt.Sprintf(format, args...)})
	}
	hint := func(nearest, format string) string {
		if nearest == "" {
			return ""
		}
		return fmt.Sprintf(format, nearest)
	}
	for _, s := range lay.Sections {
		if !s.Known {
			add("unknown section [%s] (%s) is ignored%s", s.Name, s.Headers[0], hint(s.Nearest, "; did you mean [%s]?"))
			continue
		}
		for _, k := range s.Keys {
			if !k.Known {
				add("unknown key %s in [%s] (%s) is ignored%s", k.Name, s.Name, k.At, hint(k.Nearest, "; did you mean %s?"))
			}
		}
	}
	return out
}
