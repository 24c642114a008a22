package ctl

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ctlSection is the [supervisorctl] section.
type ctlSection struct {
	ServerURL, Username, Password, Prompt, HistoryFile string
}

// findConfig returns the first existing file of the reference's search
// order, or "" (supervisorctl then runs on defaults).
func findConfig(argv0, cwd string) string {
	here := filepath.Dir(filepath.Dir(argv0))
	for _, p := range []string{
		filepath.Join(here, "etc", "supervisord.conf"),
		filepath.Join(here, "supervisord.conf"),
		"supervisord.conf",
		"etc/supervisord.conf",
		"/etc/supervisord.conf",
		"/etc/supervisor/supervisord.conf",
	} {
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// loadCtlConfig reads the [supervisorctl] section of path. Error texts
// are the reference's (printed after "Error: ").
func loadCtlConfig(path, cwd string, environ []string) (*ctlSection, error) {
	abs := path
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(cwd, abs)
	}
	f, err := os.Open(abs)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("could not find config file %s", path)
		}
		return nil, fmt.Errorf("could not read config file %s", path)
	}
	defer f.Close()
	expansions := map[string]string{"here": filepath.Dir(filepath.Clean(abs))}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			expansions["ENV_"+k] = v
		}
	}
	values, found, err := readSection(f, "supervisorctl")
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if !found {
		return nil, fmt.Errorf(".ini file does not include supervisorctl section")
	}
	get := func(key, def string) string {
		v, ok := values[key]
		if !ok {
			return def
		}
		return expand(v, expansions)
	}
	s := &ctlSection{
		ServerURL:   get("serverurl", defaultServerURL),
		Username:    get("username", ""),
		Password:    get("password", ""),
		Prompt:      get("prompt", "supervisor"),
		HistoryFile: get("history_file", ""),
	}
	if rest, ok := strings.CutPrefix(s.ServerURL, "unix://"); ok {
		s.ServerURL = "unix://" + normalizePath(rest, cwd, os.LookupEnv)
	}
	return s, nil
}

// readSection collects key = value pairs of one ini section (inline
// ; and # comments, continuation lines).
func readSection(f *os.File, name string) (map[string]string, bool, error) {
	values := map[string]string{}
	found, in := false, false
	last := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == ';' || trimmed[0] == '#' {
			continue
		}
		if in && last != "" && (line[0] == ' ' || line[0] == '\t') {
			values[last] += "\n" + stripComment(trimmed)
			continue
		}
		if strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]") {
			in = strings.TrimSpace(trimmed[1:len(trimmed)-1]) == name
			found = found || in
			last = ""
			continue
		}
		if !in {
			continue
		}
		i := strings.IndexAny(trimmed, "=:")
		if i < 0 {
			continue
		}
		last = strings.ToLower(strings.TrimSpace(trimmed[:i]))
		values[last] = stripComment(strings.TrimSpace(trimmed[i+1:]))
	}
	return values, found, sc.Err()
}

// stripComment removes an inline comment (; or # after whitespace).
func stripComment(v string) string {
	for i := 1; i < len(v); i++ {
		if (v[i] == ';' || v[i] == '#') && (v[i-1] == ' ' || v[i-1] == '\t') {
			return strings.TrimSpace(v[:i])
		}
	}
	return v
}

// expand substitutes %(name)s references and turns %% into %.
func expand(v string, expansions map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' || i+1 >= len(v) {
			b.WriteByte(v[i])
			continue
		}
		if v[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		if v[i+1] == '(' {
			if end := strings.Index(v[i:], ")s"); end > 0 {
				if val, ok := expansions[v[i+2:i+end]]; ok {
					b.WriteString(val)
					i += end + 1
					continue
				}
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
