package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gosupervisor/internal/procfs"
)

// Mount is the filesystem a directory lives on, from /proc/self/mountinfo.
type Mount struct {
	Point  string // mount point
	Type   string // e.g. ext4, tmpfs
	Source string // e.g. /dev/vda
}

// InMemory reports whether the filesystem keeps its files in RAM only.
func (m Mount) InMemory() bool { return m.Type == "tmpfs" || m.Type == "ramfs" }

func (m Mount) String() string { return fmt.Sprintf("%s on %s (%s)", m.Type, m.Point, m.Source) }

// MountOf returns the filesystem dir is on.
func MountOf(dir string) (Mount, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Mount{}, err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return Mount{}, fmt.Errorf("filesystem of %s: %w", dir, err)
	}
	return mountOf(abs, string(info))
}

// mountOf finds the mount holding the absolute path path in mountinfo's
// text: the longest mount point that contains it, the last one mounted
// when several share that point.
func mountOf(path, mountinfo string) (Mount, error) {
	var best Mount
	found := false
	for _, m := range procfs.ParseMountinfo(mountinfo) {
		if !within(path, m.Point) || (found && len(m.Point) < len(best.Point)) {
			continue
		}
		best, found = Mount{Point: m.Point, Type: m.Type, Source: m.Source}, true
	}
	if !found {
		return Mount{}, fmt.Errorf("filesystem of %s: not in /proc/self/mountinfo", path)
	}
	return best, nil
}

// within reports whether path is point or below it.
func within(path, point string) bool {
	if point == "/" || path == point {
		return true
	}
	return strings.HasPrefix(path, point+"/")
}
