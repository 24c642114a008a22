package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// readMain reads the main file, reporting errors in the reference's words.
func readMain(r resolved, files fileReader, path string) ([]byte, error) {
	abs := r.paths.abs(path)
	if !files.exists(abs) {
		return nil, fmt.Errorf("could not find config file %s", path)
	}
	data, err := files.readRegular(abs)
	if err != nil {
		return nil, fmt.Errorf("could not read config file %s", path)
	}
	return data, nil
}

// maxConfigBytes bounds what one configuration file may hold, so that a
// glob matching something like /proc/kcore cannot exhaust memory.
const maxConfigBytes = 16 << 20

// readRegular reads a regular file of at most maxConfigBytes. Devices and
// FIFOs are refused (the reference would block or read forever).
func readRegular(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > maxConfigBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxConfigBytes)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err == nil && len(data) > maxConfigBytes {
		err = fmt.Errorf("%s is larger than %d bytes", path, maxConfigBytes)
	}
	return data, err
}

// includes reads the files [include] files= names, in sorted order per
// pattern, recording which file each new section came from.
func (l *loader) includes() error {
	if !l.ini.hasSection("include") {
		return nil
	}
	l.ini.expandHere(l.here)
	files, ok := l.ini.get("include", "files")
	if !ok {
		return errors.New(".ini file has [include] section, but no files setting")
	}
	exp := l.environ.merge(expansions{"here": l.here, "host_node_name": l.r.hostname})
	files, err := expand(files, exp, "include.files")
	if err != nil {
		return err
	}
	base := filepath.Dir(filepath.Clean(l.r.paths.abs(l.path)))
	at := l.ini.sections["include"].at["files"]
	if at.File == "" {
		at = l.ini.defaults.at["files"]
	}
	for _, pattern := range strings.FieldsFunc(files, pyIsSpace) {
		pattern = pyJoin(base, pattern)
		matches := l.files.glob(pattern)
		sort.Strings(matches)
		l.includeList = append(l.includeList, Include{Pattern: pattern, At: at, Files: matches})
		if len(matches) == 0 {
			l.warn("include-no-match", "include", "files", fmt.Sprintf("No file matches via include %q", pattern))
			continue
		}
		for _, name := range matches {
			l.infos = append(l.infos, fmt.Sprintf("Included extra file %q during parsing", name))
			before := map[string]bool{}
			for _, s := range l.ini.order {
				before[s] = true
			}
			// Like the reference, a matched file that cannot be read
			// (a directory, no permission) is skipped silently.
			if data, err := l.files.readRegular(name); err == nil {
				if err := l.ini.read(data, name); err != nil {
					return err
				}
			}
			for _, s := range l.ini.order {
				if !before[s] {
					l.ini.sectionToFile[s] = name
				}
			}
			l.ini.expandHere(filepath.Dir(name))
		}
	}
	return nil
}

// Find returns the configuration file the reference would use without -c:
// the first existing of its search list (relative entries are looked up
// in cwd and returned as written).
func Find(argv0, cwd string) (string, error) {
	for _, p := range SearchPaths(argv0) {
		abs := p
		if !filepath.IsAbs(p) {
			abs = filepath.Join(cwd, p)
		}
		if _, err := os.Stat(abs); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("No config file found at default paths (%s); use the -c option to specify a config file at a different path", strings.Join(SearchPaths(argv0), ", "))
}

// SearchPaths is the reference's default configuration search list.
func SearchPaths(argv0 string) []string {
	here := pyDirname(pyDirname(argv0))
	join := func(parts ...string) string {
		if here == "" {
			return strings.Join(parts, "/")
		}
		return strings.TrimSuffix(here, "/") + "/" + strings.Join(parts, "/")
	}
	return []string{
		join("etc", "supervisord.conf"),
		join("supervisord.conf"),
		"supervisord.conf",
		"etc/supervisord.conf",
		"/etc/supervisord.conf",
		"/etc/supervisor/supervisord.conf",
	}
}
