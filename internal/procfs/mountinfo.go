package procfs

import (
	"strconv"
	"strings"
)

// Mount is one line of /proc/<pid>/mountinfo (proc(5)).
type Mount struct {
	// Root is the directory of the filesystem mounted at Point ("/"
	// unless a subdirectory was bind-mounted).
	Root  string
	Point string // mount point
	Type  string // filesystem type: ext4, tmpfs, cgroup2
	// Source is the mounted device or name; SuperOptions the
	// filesystem's own options (a v1 cgroup's controllers are there).
	Source, SuperOptions string
}

// ParseMountinfo reads mountinfo's text, escapes (\040 for a space)
// undone; malformed lines are skipped.
func ParseMountinfo(text string) []Mount {
	var out []Mount
	for _, line := range strings.Split(text, "\n") {
		// id parent major:minor root point options [optional...] - type source superoptions
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 2 {
			continue
		}
		m := Mount{Root: unescapeMount(f[3]), Point: unescapeMount(f[4]), Type: g[0], Source: unescapeMount(g[1])}
		if len(g) > 2 {
			m.SuperOptions = g[2]
		}
		out = append(out, m)
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
