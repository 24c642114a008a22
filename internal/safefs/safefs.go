// Package safefs opens files by name the way a daemon running as root
// must when other users can write the directories on the way: the
// pidfile, the main log and child logs may sit in /tmp or in a directory
// a supervised program's user owns, where that user can plant symbolic
// links, hard links, FIFOs or files of their own under the names the
// daemon is about to open, create or rotate.
//
// The rule is the kernel's fs.protected_symlinks, applied whatever that
// setting is and to every directory, sticky or not: a symbolic link is
// followed only when root or the daemon's own user owns it, or when it
// sits in a directory that nobody else can write (owned by root or the
// daemon's user, without group or other write permission). Paths are
// walked one component at a time with O_NOFOLLOW and O_PATH, so a check
// is made on the very link that is then followed, with no window for a
// swap. Links in /proc (/dev/stdout, /proc/self/fd/N) are "magic": they
// name open files rather than paths, and the kernel follows them itself
// once the rule allowed them.
//
// A file opened for writing in a directory others can write must also be
// owned by root, the daemon's user or the directory's owner (the kernel's
// fs.protected_regular and fs.protected_fifos rules), and a regular file
// there must have no other hard link (a link to a file the attacker cannot
// write, possible where fs.protected_hardlinks is off). Opening for
// reading only applies the link rule. Opens use
// O_NONBLOCK, so a FIFO planted without a reader fails with ENXIO instead
// of blocking; regular files get blocking mode back.
//
// [Dir] pins a directory so that a file's name can be created, renamed,
// linked and removed in it (log rotation) without the directory's path
// being resolved again between the steps.
package safefs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrUntrustedLink is a symbolic link the rule refuses to follow.
var ErrUntrustedLink = errors.New("refusing to follow a symbolic link another user owns in a directory other users can write")

// ErrUntrustedFile is an existing file the rule refuses to open.
var ErrUntrustedFile = errors.New("refusing a file another user planted in a directory other users can write")

// maxLinks is how many symbolic links one resolution may follow, as the
// kernel's limit (ELOOP beyond).
const maxLinks = 40

// OpenFile opens the file at path like os.OpenFile, following symbolic
// links and accepting existing files only as the package's rule allows.
// Errors are *fs.PathError naming path.
func OpenFile(path string, flag int, perm fs.FileMode) (*os.File, error) {
	dir, name := filepath.Split(path)
	d, err := OpenDir(dir)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: unwrapPath(err)}
	}
	defer d.Close()
	return d.OpenFile(name, flag, perm)
}

// Stat is os.Stat that follows symbolic links by the package's rule. The
// file itself is never opened (O_PATH): a FIFO or a device found there is
// left alone.
func Stat(path string) (fs.FileInfo, error) {
	f, err := OpenFile(path, unix.O_PATH, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: unwrapPath(err)}
	}
	defer f.Close()
	return f.Stat()
}

// MkdirAll creates the directory path and any missing parents with perm
// (before the umask), resolving the existing ones by the package's rule.
func MkdirAll(path string, perm fs.FileMode) error {
	w := newWalker()
	fd, err := w.walkDir(unix.AT_FDCWD, path, true, uint32(perm.Perm()))
	if err != nil {
		return &fs.PathError{Op: "mkdir", Path: path, Err: err}
	}
	unix.Close(fd)
	return nil
}

// Dir is an open directory whose entries are worked on by name, with no
// further resolution of its path. It is not safe for concurrent use.
type Dir struct {
	fd   int
	path string
}

// OpenDir opens the directory at path ("" is the working directory),
// following symbolic links by the package's rule.
func OpenDir(path string) (*Dir, error) {
	if path == "" {
		path = "."
	}
	fd, err := newWalker().walkDir(unix.AT_FDCWD, path, false, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return &Dir{fd: fd, path: path}, nil
}

// Close releases the directory.
func (d *Dir) Close() error {
	if d.fd < 0 {
		return nil
	}
	err := unix.Close(d.fd)
	d.fd = -1
	return err
}

// Path is the directory's path as given to OpenDir.
func (d *Dir) Path() string { return d.path }

func (d *Dir) join(name string) string { return filepath.Join(d.path, name) }

// OpenFile opens the entry name (a single path component) like
// os.OpenFile: a symbolic link there is followed by the package's rule,
// an existing file is accepted by it.
func (d *Dir) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	if err := checkName(name); err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.join(name), Err: err}
	}
	fd, err := newWalker().openFile(d.fd, name, flag, uint32(perm.Perm()))
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.join(name), Err: err}
	}
	return os.NewFile(uintptr(fd), d.join(name)), nil
}

// CreateTemp creates a new file named prefix followed by 16 random hex
// digits (O_EXCL: never an existing entry, never through a link) and
// returns it with its name.
func (d *Dir) CreateTemp(prefix string, perm fs.FileMode) (*os.File, string, error) {
	var b [8]byte
	for range 100 {
		_, _ = rand.Read(b[:])
		name := prefix + hex.EncodeToString(b[:])
		f, err := d.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", &fs.PathError{Op: "createtemp", Path: d.join(prefix + "*"), Err: fs.ErrExist}
}

// Rename renames the entry oldname to newname (replacing it), never
// following a link at either name.
func (d *Dir) Rename(oldname, newname string) error {
	if err := ignoringEINTR(func() error { return unix.Renameat(d.fd, oldname, d.fd, newname) }); err != nil {
		return &os.LinkError{Op: "rename", Old: d.join(oldname), New: d.join(newname), Err: err}
	}
	return nil
}

// Link gives the entry oldname (itself, even when it is a link) the
// further name newname, which must not exist.
func (d *Dir) Link(oldname, newname string) error {
	if err := ignoringEINTR(func() error { return unix.Linkat(d.fd, oldname, d.fd, newname, 0) }); err != nil {
		return &os.LinkError{Op: "link", Old: d.join(oldname), New: d.join(newname), Err: err}
	}
	return nil
}

// Remove unlinks the entry name (not a directory).
func (d *Dir) Remove(name string) error {
	if err := ignoringEINTR(func() error { return unix.Unlinkat(d.fd, name, 0) }); err != nil {
		return &fs.PathError{Op: "remove", Path: d.join(name), Err: err}
	}
	return nil
}

// Exists reports whether the entry name exists (of any kind).
func (d *Dir) Exists(name string) (bool, error) {
	var st unix.Stat_t
	err := ignoringEINTR(func() error { return unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.ENOENT):
		return false, nil
	}
	return false, &fs.PathError{Op: "lstat", Path: d.join(name), Err: err}
}

// ChmodSocket sets the mode bits (chmod(2)'s, special bits included) of
// the socket file at path, which the daemon's user must own. Unlike
// os.Chmod it never follows a link at path: where other users can write
// the directory, the socket just bound may have been swapped for a link
// to a file of root's.
func ChmodSocket(path string, mode uint32) error {
	return onOwnSocket(path, "chmod", func(fd int) error {
		// chmod(2) through the descriptor's /proc link reaches the
		// socket's inode itself (fchmod cannot take an O_PATH descriptor).
		return unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), mode&0o7777)
	})
}

// ChownSocket sets the owner and group (-1 keeps one) of the socket file
// at path, which the daemon's user must own, never following a link at
// path (see ChmodSocket).
func ChownSocket(path string, uid, gid int) error {
	return onOwnSocket(path, "chown", func(fd int) error {
		return unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH)
	})
}

// onOwnSocket runs f on an O_PATH descriptor of the entry at path once it
// is known to be a socket the daemon's user owns.
func onOwnSocket(path, op string, f func(fd int) error) error {
	dir, name := filepath.Split(path)
	d, err := OpenDir(dir)
	if err != nil {
		return &fs.PathError{Op: op, Path: path, Err: unwrapPath(err)}
	}
	defer d.Close()
	fd, err := openPath(d.fd, name, unix.O_NOFOLLOW)
	if err != nil {
		return &fs.PathError{Op: op, Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: op, Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK || st.Uid != uint32(os.Geteuid()) {
		return &fs.PathError{Op: op, Path: path, Err: fmt.Errorf("%w (mode %o, owner uid %d: not the socket just bound)", ErrUntrustedFile, st.Mode, st.Uid)}
	}
	if err := ignoringEINTR(func() error { return f(fd) }); err != nil {
		return &fs.PathError{Op: op, Path: path, Err: err}
	}
	return nil
}

// checkName accepts a single, real path component.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return unix.EINVAL
	}
	return nil
}

// walker resolves one path. It counts the links it followed.
type walker struct {
	euid  uint32
	links int
}

func newWalker() *walker { return &walker{euid: uint32(os.Geteuid())} }

// trustedDir reports whether nobody but root and the daemon's user can
// write the directory.
func (w *walker) trustedDir(dir *unix.Stat_t) bool {
	return (dir.Uid == 0 || dir.Uid == w.euid) && dir.Mode&0o022 == 0
}

// trustedLink applies the rule to a link found in a directory.
func (w *walker) trustedLink(dir, link *unix.Stat_t) bool {
	return link.Uid == 0 || link.Uid == w.euid || w.trustedDir(dir)
}

// walkDir resolves path, relative to the directory at, to an O_PATH
// descriptor of a directory the caller must close. With mkdir, missing
// components are created with perm.
func (w *walker) walkDir(at int, path string, mkdir bool, perm uint32) (int, error) {
	start := "."
	if strings.HasPrefix(path, "/") {
		start = "/"
	}
	cur, err := openPath(at, start, unix.O_DIRECTORY)
	if err != nil {
		return -1, err
	}
	comps := components(path)
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		next, err := openPath(cur, c, unix.O_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) && mkdir {
			if err := unix.Mkdirat(cur, c, perm); err != nil && !errors.Is(err, unix.EEXIST) {
				unix.Close(cur)
				return -1, err
			}
			next, err = openPath(cur, c, unix.O_NOFOLLOW)
		}
		if err != nil {
			unix.Close(cur)
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(next, &st); err != nil {
			unix.Close(next)
			unix.Close(cur)
			return -1, err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			unix.Close(cur)
			cur = next
		case unix.S_IFLNK:
			target, magic, err := w.follow(cur, next, &st)
			unix.Close(next)
			if err != nil {
				unix.Close(cur)
				return -1, err
			}
			if magic {
				// The kernel resolves what a /proc link names.
				fd, err := openPath(cur, c, unix.O_DIRECTORY)
				unix.Close(cur)
				if err != nil {
					return -1, err
				}
				cur = fd
				continue
			}
			if strings.HasPrefix(target, "/") {
				root, err := openPath(cur, "/", unix.O_DIRECTORY)
				unix.Close(cur)
				if err != nil {
					return -1, err
				}
				cur = root
			}
			comps = append(components(target), comps...)
		default:
			unix.Close(next)
			unix.Close(cur)
			return -1, unix.ENOTDIR
		}
	}
	return cur, nil
}

// follow decides on the symbolic link lfd (an O_PATH descriptor of the
// link itself, with stat st) found in the directory dir. It returns the
// link's target, or magic when the link is in /proc and the kernel must
// follow it.
func (w *walker) follow(dir, lfd int, st *unix.Stat_t) (target string, magic bool, err error) {
	w.links++
	if w.links > maxLinks {
		return "", false, unix.ELOOP
	}
	var dst unix.Stat_t
	if err := unix.Fstat(dir, &dst); err != nil {
		return "", false, err
	}
	if !w.trustedLink(&dst, st) {
		return "", false, fmt.Errorf("%w (link owner uid %d, directory owner uid %d, mode %04o)", ErrUntrustedLink, st.Uid, dst.Uid, dst.Mode&0o7777)
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(dir, &sfs); err != nil {
		return "", false, err
	}
	if sfs.Type == unix.PROC_SUPER_MAGIC {
		return "", true, nil
	}
	buf := make([]byte, max(st.Size+1, 256))
	for {
		n, err := unix.Readlinkat(lfd, "", buf)
		if err != nil {
			return "", false, err
		}
		if n < len(buf) {
			return string(buf[:n]), false, nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

// openFile opens the entry name of the directory dir (not closed here)
// with flag, following a final link by the rule.
func (w *walker) openFile(dir int, name string, flag int, perm uint32) (int, error) {
	owned := -1 // a directory reached through a link, closed here
	defer func() {
		if owned >= 0 {
			unix.Close(owned)
		}
	}()
	// O_TRUNC waits until the file has passed the checks: a refused file
	// is left as it was.
	trunc := flag&unix.O_TRUNC != 0
	flag = flag&^unix.O_TRUNC | unix.O_CLOEXEC | unix.O_NONBLOCK
	for {
		fd, err := openat(dir, name, flag|unix.O_NOFOLLOW, perm)
		if err == nil && flag&unix.O_PATH != 0 && isLinkFD(fd) {
			// O_PATH|O_NOFOLLOW opens a link itself instead of failing.
			unix.Close(fd)
			err = unix.ELOOP
		}
		if err == nil {
			return fd, w.checkFile(dir, fd, flag, trunc)
		}
		if errors.Is(err, unix.EACCES) && flag&unix.O_CREAT != 0 && isLink(dir, name) {
			// The kernel refuses O_CREAT on another user's link in a
			// sticky world-writable directory before O_NOFOLLOW is
			// looked at: let the rule decide, and say why.
			err = unix.ELOOP
		}
		if !errors.Is(err, unix.ELOOP) {
			return -1, err
		}
		// name is a symbolic link.
		lfd, err := openPath(dir, name, unix.O_NOFOLLOW)
		if err != nil {
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(lfd, &st); err != nil {
			unix.Close(lfd)
			return -1, err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			// Replaced since the open; try again (counted as a link so a
			// swapping attacker cannot keep us here).
			unix.Close(lfd)
			if w.links++; w.links > maxLinks {
				return -1, unix.ELOOP
			}
			continue
		}
		target, magic, err := w.follow(dir, lfd, &st)
		unix.Close(lfd)
		if err != nil {
			return -1, err
		}
		if magic {
			fd, err := openat(dir, name, flag, perm)
			if err != nil {
				return -1, err
			}
			return fd, w.checkFile(dir, fd, flag, trunc)
		}
		tdir, tname := filepath.Split(target)
		if tname == "" || tname == "." || tname == ".." {
			return -1, unix.EISDIR
		}
		next := dir
		if tdir != "" {
			if next, err = w.walkDir(dir, tdir, false, 0); err != nil {
				return -1, err
			}
		}
		if next != dir {
			if owned >= 0 {
				unix.Close(owned)
			}
			owned = next
		}
		dir, name = next, tname
	}
}

// checkFile applies the rule to a file just opened in dir, then gives a
// regular file back its blocking mode and truncates it if asked. On error
// fd is closed.
func (w *walker) checkFile(dir, fd, flag int, trunc bool) error {
	var st, dst unix.Stat_t
	err := unix.Fstat(fd, &st)
	if err == nil {
		err = unix.Fstat(dir, &dst)
	}
	if err == nil && !w.trustedDir(&dst) {
		// Readers are not refused: reading the planter's own file tells
		// nothing, and a log being rotated has two links for a moment.
		kind := st.Mode & unix.S_IFMT
		writing := flag&(unix.O_WRONLY|unix.O_RDWR) != 0
		switch {
		case !writing:
		case (kind == unix.S_IFREG || kind == unix.S_IFIFO) && st.Uid != 0 && st.Uid != w.euid && st.Uid != dst.Uid:
			err = fmt.Errorf("%w (owned by uid %d)", ErrUntrustedFile, st.Uid)
		case kind == unix.S_IFREG && st.Nlink > 1:
			err = fmt.Errorf("%w (it has %d hard links)", ErrUntrustedFile, st.Nlink)
		}
	}
	if err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && flag&unix.O_PATH == 0 {
		err = unix.SetNonblock(fd, false)
		if err == nil && trunc {
			err = unix.Ftruncate(fd, 0)
		}
	}
	if err != nil {
		unix.Close(fd)
		return err
	}
	return nil
}

// isLink reports whether the entry name of dir is a symbolic link.
func isLink(dir int, name string) bool {
	var st unix.Stat_t
	err := ignoringEINTR(func() error { return unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// isLinkFD reports whether the O_PATH descriptor fd is a symbolic link.
func isLinkFD(fd int) bool {
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// components splits a path into its names, without empty ones and ".".
func components(path string) []string {
	var out []string
	for _, c := range strings.Split(path, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// openPath opens name in dir as an O_PATH descriptor.
func openPath(dir int, name string, flag int) (int, error) {
	return openat(dir, name, unix.O_PATH|unix.O_CLOEXEC|flag, 0)
}

func openat(dir int, name string, flag int, perm uint32) (int, error) {
	for {
		fd, err := unix.Openat(dir, name, flag, perm)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// unwrapPath strips a *fs.PathError so the caller can name its own path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
