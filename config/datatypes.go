package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"gosupervisor/internal/protocol"
	"gosupervisor/internal/pyrepr"
)

// ParseInteger is Supervisor's integer(): Python's int() of the value
// (see pyInt), with the same error texts.
func ParseInteger(s string) (int, error) {
	n, err := pyInt(s, 10)
	return int(n), err
}

var (
	truthy = []string{"yes", "true", "on", "1"}
	falsy  = []string{"no", "false", "off", "0"}
)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ParseBool is Supervisor's boolean(): yes/true/on/1 and no/false/off/0 in
// any case.
func ParseBool(s string) (bool, error) {
	l := strings.ToLower(s)
	switch {
	case contains(truthy, l):
		return true, nil
	case contains(falsy, l):
		return false, nil
	}
	return false, fmt.Errorf("not a valid boolean value: %s", pyrepr.Str(s))
}

// ParseByteSize is Supervisor's byte_size(): an integer with an optional
// case-insensitive KB, MB or GB suffix (powers of 1024).
func ParseByteSize(s string) (int64, error) {
	l := strings.ToLower(s)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}} {
		if strings.HasSuffix(l, u.suffix) {
			n, err := pyInt(l[:len(l)-2], 10)
			if err != nil {
				return 0, err
			}
			if n > math.MaxInt64/u.mult || n < math.MinInt64/u.mult {
				return 0, &tooLargeError{s}
			}
			return n * u.mult, nil
		}
	}
	return pyInt(l, 10)
}

// ParseOctal is Supervisor's octal_type(): Python's int(s, 8) (an
// optional 0o prefix), failing with "<s> can not be converted to an octal
// type".
func ParseOctal(s string) (int, error) {
	n, err := pyInt(s, 8)
	var big *tooLargeError
	if errors.As(err, &big) {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("%s can not be converted to an octal type", s)
	}
	return int(n), nil
}

// ParseLogLevel is Supervisor's logging_level().
func ParseLogLevel(s string) (protocol.Level, error) {
	if l, ok := protocol.ParseLevel(s); ok {
		return l, nil
	}
	return 0, fmt.Errorf("bad logging level name %s", pyrepr.Str(s))
}

// ParseExitCodes is Supervisor's list_of_exitcodes(): comma-separated
// integers 0..255; an empty string is an empty list.
func ParseExitCodes(s string) ([]int, error) {
	if s == "" {
		return []int{}, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := pyInt(part, 10)
		if err != nil || n < 0 || n > 255 {
			return nil, fmt.Errorf("not a valid list of exit codes: %s", pyrepr.Str(s))
		}
		out = append(out, int(n))
	}
	return out, nil
}

// ParseAutorestart is Supervisor's auto_restart().
func ParseAutorestart(s string) (Autorestart, error) {
	l := strings.ToLower(s)
	switch {
	case contains(truthy, l):
		return AutorestartTrue, nil
	case contains(falsy, l):
		return AutorestartFalse, nil
	case l == "unexpected":
		return AutorestartUnexpected, nil
	}
	return 0, fmt.Errorf("invalid 'autorestart' value %s", pyrepr.Str(l))
}

// listOfStrings is Supervisor's list_of_strings().
func listOfStrings(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = pyStrip(p)
	}
	return parts
}

// processOrGroupName strips a name and rejects the characters that break
// namespecs.
func processOrGroupName(name string) (string, error) {
	s := pyStrip(name)
	for _, c := range []string{" ", ":", "/"} {
		if strings.Contains(s, c) {
			return "", fmt.Errorf("Invalid name: %s because of character: %s", pyrepr.Str(name), pyrepr.Str(c))
		}
	}
	return s, nil
}

// InetAddress parses [host:]port as Supervisor's inet_address(); an empty
// or "*" host means all interfaces and is returned as "".
func InetAddress(s string) (string, int, error) {
	host := ""
	var port int64
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, s = strings.ToLower(s[:i]), s[i+1:]
		if s == "" {
			return "", 0, fmt.Errorf("no port number specified in %s", pyrepr.Str(s))
		}
		n, err := pyInt(s, 10)
		if err != nil {
			return "", 0, err
		}
		if err := portRange(n); err != nil {
			return "", 0, err
		}
		port = n
	} else {
		n, err := pyInt(s, 10)
		if err == nil {
			err = portRange(n)
		}
		if err != nil {
			return "", 0, fmt.Errorf("not a valid port number: %s ", pyrepr.Str(s))
		}
		port = n
	}
	if host == "*" {
		host = ""
	}
	return host, int(port), nil
}

func portRange(n int64) error {
	if n < 1 {
		return fmt.Errorf("%d is below lower bound (1)", n)
	}
	if n > 0xffff {
		return fmt.Errorf("%d is above upper bound (65535)", n)
	}
	return nil
}

// userDB resolves user and group names the way Python's pwd/grp modules do.
type userDB struct{}

// nameToUID is Supervisor's name_to_uid(): a user name or a numeric uid
// that exists.
func (userDB) nameToUID(name string) (int, error) {
	if n, err := pyInt(name, 10); err == nil {
		if _, err := user.LookupId(strconv.FormatInt(n, 10)); err != nil {
			return 0, fmt.Errorf("Invalid user id %s", name)
		}
		return int(n), nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, fmt.Errorf("Invalid user name %s", name)
	}
	uid, _ := strconv.Atoi(u.Uid)
	return uid, nil
}

func (userDB) nameToGID(name string) (int, error) {
	if n, err := pyInt(name, 10); err == nil {
		if _, err := user.LookupGroupId(strconv.FormatInt(n, 10)); err != nil {
			return 0, fmt.Errorf("Invalid group id %s", name)
		}
		return int(n), nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("Invalid group name %s", name)
	}
	gid, _ := strconv.Atoi(g.Gid)
	return gid, nil
}

// gidForUID is the primary group of a uid (-1 if unknown).
func (userDB) gidForUID(uid int) int {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return -1
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return -1
	}
	return gid
}

// userGroup is Supervisor's colon_separated_user_group(): "user" or
// "user:group" → (uid, gid), gid -1 when absent.
func (db userDB) userGroup(s string) (int, int, error) {
	name, group, hasGroup := strings.Cut(s, ":")
	uid, err := db.nameToUID(name)
	if err != nil {
		return 0, 0, fmt.Errorf("Invalid user:group definition %s", s)
	}
	gid := -1
	if hasGroup {
		if gid, err = db.nameToGID(group); err != nil {
			return 0, 0, fmt.Errorf("Invalid user:group definition %s", s)
		}
	}
	return uid, gid, nil
}

// paths resolves file names relative to a working directory and a home
// directory, as Python's os.path functions do inside the daemon.
type paths struct {
	cwd  string
	home string // $HOME, "" = look up the current user
}

// expandUser is os.path.expanduser.
func (p paths) expandUser(s string) string {
	if !strings.HasPrefix(s, "~") {
		return s
	}
	i := strings.IndexByte(s, '/')
	if i < 0 {
		i = len(s)
	}
	var home string
	if i == 1 {
		home = p.home
		if home == "" {
			u, err := user.Current()
			if err != nil {
				return s
			}
			home = u.HomeDir
		}
	} else {
		u, err := user.Lookup(s[1:i])
		if err != nil {
			return s
		}
		home = u.HomeDir
	}
	home = strings.TrimRight(home, "/")
	if home == "" {
		home = "/"
		if i < len(s) {
			home = ""
		}
	}
	return home + s[i:]
}

// abs resolves s against the working directory without cleaning it.
func (p paths) abs(s string) string {
	if filepath.IsAbs(s) {
		return s
	}
	return filepath.Join(p.cwd, s)
}

// normalize is Supervisor's normalize_path: expanduser, abspath, normpath.
func (p paths) normalize(s string) string {
	return filepath.Clean(p.abs(p.expandUser(s)))
}

func (p paths) isDir(s string) bool {
	if s == "" {
		return false // os.path.isdir('') is False
	}
	st, err := os.Stat(p.abs(s))
	return err == nil && st.IsDir()
}

// processPaths resolves names as the daemon's own command line does: in
// the current directory, "~" from $HOME.
func processPaths() paths {
	wd, _ := os.Getwd() // "" leaves relative names relative, which is the same
	return paths{cwd: wd, home: os.Getenv("HOME")}
}

// ExistingDirectory is Supervisor's existing_directory() for a value from
// the command line: it returns the value with "~" expanded if that names
// an existing directory (relative to the current one).
func ExistingDirectory(s string) (string, error) {
	return processPaths().existingDirectory(s)
}

// ExistingDirpath is Supervisor's existing_dirpath() for a value from the
// command line: it returns the value with "~" expanded if the directory
// part of it exists (or there is none).
func ExistingDirpath(s string) (string, error) {
	return processPaths().existingDirpath(s)
}

// existingDirectory is Supervisor's existing_directory().
func (p paths) existingDirectory(s string) (string, error) {
	nv := p.expandUser(s)
	if p.isDir(nv) {
		return nv, nil
	}
	return "", fmt.Errorf("%s is not an existing directory", s)
}

// existingDirpath is Supervisor's existing_dirpath(): the file's directory
// must exist.
func (p paths) existingDirpath(s string) (string, error) {
	nv := p.expandUser(s)
	dir := pyDirname(nv)
	if dir == "" || p.isDir(dir) {
		return nv, nil
	}
	return "", fmt.Errorf("The directory named as part of the path %s does not exist", s)
}

// pyDirname is os.path.dirname: everything before the last "/", with
// trailing slashes removed unless it is all slashes.
func pyDirname(s string) string {
	i := strings.LastIndexByte(s, '/') + 1
	head := s[:i]
	if head != "" && strings.Trim(head, "/") != "" {
		head = strings.TrimRight(head, "/")
	}
	return head
}

// logfileKind says what a *_logfile value names.
type logfileKind int

const (
	logfilePath logfileKind = iota
	logfileNone
	logfileAuto
	logfileSyslog
)

// logfileName is Supervisor's logfile_name().
func (p paths) logfileName(s string) (logfileKind, string, error) {
	switch strings.ToLower(s) {
	case "none", "off":
		return logfileNone, "", nil
	case "auto":
		return logfileAuto, "", nil
	case "syslog":
		return logfileSyslog, "", nil
	}
	v, err := p.existingDirpath(s)
	return logfilePath, v, err
}

// tempDir is Python's tempfile.gettempdir() for the given environment.
func tempDir(env map[string]string, cwd string) string {
	var candidates []string
	for _, k := range []string{"TMPDIR", "TEMP", "TMP"} {
		if v := env[k]; v != "" {
			candidates = append(candidates, v)
		}
	}
	candidates = append(candidates, "/tmp", "/var/tmp", "/usr/tmp", cwd)
	for _, c := range candidates {
		abs := c
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(cwd, abs)
		}
		st, err := os.Stat(abs)
		if err != nil || !st.IsDir() {
			continue
		}
		if syscall.Access(abs, 2 /* W_OK */) != nil {
			continue
		}
		if c == "." {
			return c
		}
		return filepath.Clean(abs)
	}
	return cwd
}
