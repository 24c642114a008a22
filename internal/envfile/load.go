package envfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// MaxFileSize is the largest file read (systemd's READ_FULL_BYTES_MAX).
const MaxFileSize = 4 << 20

// Entry is one item of an environment_file= list.
type Entry struct {
	// Pattern is an absolute path or glob(3) pattern.
	Pattern string
	// Optional is the - prefix: a missing or unreadable file, a pattern
	// without match or a file that is not valid UTF-8 is skipped.
	Optional bool
}

// String is the entry as written.
func (e Entry) String() string {
	if e.Optional {
		return "-" + e.Pattern
	}
	return e.Pattern
}

// ParseEntries reads a comma-separated environment_file= list. A relative
// path is an error unless the entry is optional, in which case it is
// dropped (systemd ignores it at load time either way; a file the
// operator depends on must not silently vanish).
func ParseEntries(list string) ([]Entry, error) {
	var out []Entry
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		e := Entry{Pattern: item}
		if strings.HasPrefix(item, "-") {
			e = Entry{Pattern: item[1:], Optional: true}
		}
		if !filepath.IsAbs(e.Pattern) {
			if e.Optional {
				continue
			}
			return nil, fmt.Errorf("environment_file %q is not an absolute path", item)
		}
		out = append(out, e)
	}
	return out, nil
}

// Error is a file that could not be used; its text is the spawn error.
type Error struct {
	Path string // the file, or the pattern that matched nothing
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("can't read environment_file %s: %s", e.Path, reason(e.Err))
}

func (e *Error) Unwrap() error { return e.Err }

// reason words an error as strerror(3) does for system errors.
func reason(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		r, n := utf8.DecodeRuneInString(s)
		return string(unicode.ToUpper(r)) + s[n:]
	}
	return err.Error()
}

// Dropped are the keys of one file that were not valid variable names.
type Dropped struct {
	Path string
	Keys []string
}

// Opener opens a file for reading; the daemon passes one that follows
// symbolic links only where no other user could have planted them.
type Opener func(path string) (*os.File, error)

// Load reads the entries in order and merges what they set (a later file
// wins). Each file must be a regular file of at most MaxFileSize bytes.
// The first failing entry that is not optional is the error; dropped
// lists the invalid names met in the files used.
func Load(entries []Entry, open Opener) (vars []Var, dropped []Dropped, err error) {
	index := map[string]int{}
	for _, e := range entries {
		paths, err := Glob(e.Pattern)
		if err == nil && len(paths) == 0 {
			err = syscall.ENOENT
		}
		if err != nil {
			if e.Optional {
				continue
			}
			return nil, nil, &Error{Path: e.Pattern, Err: err}
		}
		for _, path := range paths {
			fileVars, invalid, err := loadFile(path, open)
			if err != nil {
				if e.Optional {
					continue
				}
				return nil, nil, &Error{Path: path, Err: err}
			}
			if len(invalid) > 0 {
				dropped = append(dropped, Dropped{Path: path, Keys: invalid})
			}
			for _, v := range fileVars {
				if i, ok := index[v.Key]; ok {
					vars[i].Value = v.Value
					continue
				}
				index[v.Key] = len(vars)
				vars = append(vars, v)
			}
		}
	}
	return vars, dropped, nil
}

func loadFile(path string, open Opener) ([]Var, []string, error) {
	f, err := open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		// A FIFO or device could block the daemon or never end.
		return nil, nil, errors.New("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, nil, err
	}
	if len(data) > MaxFileSize {
		return nil, nil, fmt.Errorf("larger than %d MiB", MaxFileSize>>20)
	}
	return Parse(data)
}
