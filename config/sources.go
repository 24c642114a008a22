package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
)

// Sources are the inputs of one Load: the options it ran with and the
// bytes of every file it read (the main file, then its includes), with
// the result of every include pattern. Replay parses them again without
// touching those files: a supervisord upgraded in place (package
// handover) hands them to the new binary, which must run on the
// configuration the daemon had, not on a file edited since, and
// validates it with its own parser (so keys the old binary did not know
// get their new defaults).
//
// Checks of the file system the values name (a directory that must
// exist, a writable temporary directory, a user that must exist) are
// made again by the replay, against the file system as it is then.
type Sources struct {
	// Path is the main file's name as Load was given it.
	Path      string
	Env       []string
	Hostname  string
	Cwd       string
	Overrides map[string]string
	// Files are the files read, in order; Globs the include patterns
	// expanded, in order.
	Files []SourceFile
	Globs []SourceGlob
}

// SourceFile is one file a Load read: its bytes, or why it could not be
// read (Err, the error's text).
type SourceFile struct {
	Path string
	Data []byte
	Err  string
}

// SourceGlob is one include pattern and the names it matched.
type SourceGlob struct {
	Pattern string
	Matches []string
}

// fileReader is how a Load reaches configuration files: the OS
// (recording what it read) or a replay of an earlier record.
type fileReader interface {
	// exists reports whether the main file is there (readMain's check).
	exists(path string) bool
	readRegular(path string) ([]byte, error)
	glob(pattern string) []string
}

// recorder reads from the OS and records everything into src.
type recorder struct{ src *Sources }

func (r *recorder) exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (r *recorder) readRegular(path string) ([]byte, error) {
	data, err := readRegular(path)
	f := SourceFile{Path: path, Data: data}
	if err != nil {
		f.Data, f.Err = nil, err.Error()
	}
	r.src.Files = append(r.src.Files, f)
	return data, err
}

func (r *recorder) glob(pattern string) []string {
	matches := pyGlob(pattern)
	r.src.Globs = append(r.src.Globs, SourceGlob{Pattern: pattern, Matches: slices.Clone(matches)})
	return matches
}

// replayer serves a record: a file or pattern the record lacks is
// missing (fs.ErrNotExist, no match).
type replayer struct{ src *Sources }

func (r *replayer) file(path string) (SourceFile, bool) {
	for _, f := range r.src.Files {
		if f.Path == path {
			return f, true
		}
	}
	return SourceFile{}, false
}

func (r *replayer) exists(path string) bool {
	_, ok := r.file(path)
	return ok
}

func (r *replayer) readRegular(path string) ([]byte, error) {
	f, ok := r.file(path)
	switch {
	case !ok:
		return nil, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
	case f.Err != "":
		return nil, errors.New(f.Err)
	}
	return slices.Clone(f.Data), nil
}

func (r *replayer) glob(pattern string) []string {
	for _, g := range r.src.Globs {
		if g.Pattern == pattern {
			return slices.Clone(g.Matches)
		}
	}
	return nil
}

// record starts the Sources of a Load with its resolved options.
func record(path string, r resolved, overrides map[string]string) *Sources {
	src := &Sources{Path: path, Hostname: r.hostname, Cwd: r.cwd, Overrides: maps.Clone(overrides)}
	for k, v := range r.env {
		src.Env = append(src.Env, k+"="+v)
	}
	slices.Sort(src.Env)
	return src
}

// Replay parses the configuration src records again, with this binary's
// parser and defaults, reading no configuration file. The result's
// Sources is src.
func Replay(src *Sources) (*Config, error) {
	if src == nil {
		return nil, errors.New("replay: no configuration sources")
	}
	opts := Options{Env: src.Env, Hostname: src.Hostname, Cwd: src.Cwd, Overrides: src.Overrides}
	if opts.Env == nil {
		opts.Env = []string{} // nil would mean os.Environ()
	}
	return load(src.Path, opts, processKeys(), &replayer{src: src})
}
