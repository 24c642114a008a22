package safefs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// other is the uid and gid of the "other user" the scenarios plant files
// as (nobody).
const other = 65534

// tree builds a scenario's files in a temp dir. Paths are relative to it.
type tree struct {
	t    *testing.T
	root string
}

func newTree(t *testing.T) *tree {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("safefs tests make files owned by another user: they need root (make test runs as root); euid %d", os.Geteuid())
	}
	return &tree{t: t, root: t.TempDir()}
}

func (tr *tree) path(rel string) string { return filepath.Join(tr.root, rel) }

// dir makes a directory with mode (a chmod(2) mode: 0o1777 is sticky)
// and owner.
func (tr *tree) dir(rel string, mode uint32, uid int) {
	tr.t.Helper()
	p := tr.path(rel)
	if err := os.Mkdir(p, 0o700); err != nil {
		tr.t.Fatal(err)
	}
	if err := unix.Chmod(p, mode); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Lchown(p, uid, uid); err != nil {
		tr.t.Fatal(err)
	}
}

// file makes a regular file with content and owner.
func (tr *tree) file(rel, content string, uid int) {
	tr.t.Helper()
	p := tr.path(rel)
	if err := os.WriteFile(p, []byte(content), 0o666); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Lchown(p, uid, uid); err != nil {
		tr.t.Fatal(err)
	}
}

// link makes a symbolic link owned by uid; an absolute-looking target
// "@x" means the tree's x.
func (tr *tree) link(rel, target string, uid int) {
	tr.t.Helper()
	if t, ok := strings.CutPrefix(target, "@"); ok {
		target = tr.path(t)
	}
	p := tr.path(rel)
	if err := os.Symlink(target, p); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Lchown(p, uid, uid); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *tree) read(rel string) string {
	b, err := os.ReadFile(tr.path(rel))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func TestOpenFileRule(t *testing.T) {
	t.Parallel()
	const (
		write = os.O_WRONLY | os.O_CREATE | os.O_APPEND
		trunc = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		read  = os.O_RDONLY
	)
	tests := []struct {
		name  string
		setup func(tr *tree)
		open  string
		flag  int
		// wantErr is nil for success; then want maps files to the
		// content they must have after "new" was written.
		wantErr error
		want    map[string]string
	}{
		{
			name:  "new file",
			setup: func(tr *tree) { tr.dir("logs", 0o755, 0) },
			open:  "logs/x.log", flag: write,
			want: map[string]string{"logs/x.log": "new"},
		},
		{
			name: "link planted in a sticky world-writable dir",
			setup: func(tr *tree) {
				tr.dir("tmp", 0o1777, 0)
				tr.file("victim", "precious", 0)
				tr.link("tmp/x.log", "@victim", other)
			},
			open: "tmp/x.log", flag: trunc,
			wantErr: ErrUntrustedLink, want: map[string]string{"victim": "precious"},
		},
		{
			name: "dangling link planted in a sticky dir is not created through",
			setup: func(tr *tree) {
				tr.dir("tmp", 0o1777, 0)
				tr.link("tmp/x.log", "@created", other)
			},
			open: "tmp/x.log", flag: write,
			wantErr: ErrUntrustedLink, want: map[string]string{"created": "<open " + "CREATED" + ": no such file or directory>"},
		},
		{
			name: "link planted in a dir the other user owns",
			setup: func(tr *tree) {
				tr.dir("app", 0o755, other)
				tr.file("victim", "precious", 0)
				tr.link("app/x.log", "@victim", other)
			},
			open: "app/x.log", flag: write,
			wantErr: ErrUntrustedLink, want: map[string]string{"victim": "precious"},
		},
		{
			name: "root's link in a dir the other user owns is followed",
			setup: func(tr *tree) {
				tr.dir("app", 0o755, other)
				tr.file("target", "old ", 0)
				tr.link("app/x.log", "@target", 0)
			},
			open: "app/x.log", flag: write,
			want: map[string]string{"target": "old new"},
		},
		{
			name: "another user's link in a dir only root writes is followed",
			setup: func(tr *tree) {
				tr.dir("etc", 0o755, 0)
				tr.file("target", "old ", 0)
				tr.link("etc/x.log", "@target", other)
			},
			open: "etc/x.log", flag: write,
			want: map[string]string{"target": "old new"},
		},
		{
			name: "a group-writable dir counts as writable by others",
			setup: func(tr *tree) {
				tr.dir("shared", 0o775, 0)
				tr.file("victim", "precious", 0)
				tr.link("shared/x.log", "@victim", other)
			},
			open: "shared/x.log", flag: write,
			wantErr: ErrUntrustedLink, want: map[string]string{"victim": "precious"},
		},
		{
			name: "relative target",
			setup: func(tr *tree) {
				tr.dir("a", 0o755, 0)
				tr.dir("b", 0o755, 0)
				tr.link("a/x.log", "../b/y.log", 0)
			},
			open: "a/x.log", flag: write,
			want: map[string]string{"b/y.log": "new"},
		},
		{
			name: "a trusted link to an untrusted link",
			setup: func(tr *tree) {
				tr.dir("tmp", 0o1777, 0)
				tr.dir("etc", 0o755, 0)
				tr.file("victim", "precious", 0)
				tr.link("tmp/evil", "@victim", other)
				tr.link("etc/x.log", "@tmp/evil", 0)
			},
			open: "etc/x.log", flag: write,
			wantErr: ErrUntrustedLink, want: map[string]string{"victim": "precious"},
		},
		{
			name: "a planted link as a directory on the way",
			setup: func(tr *tree) {
				tr.dir("home", 0o755, other)
				tr.dir("sys", 0o755, 0)
				tr.link("home/logs", "@sys", other)
			},
			open: "home/logs/x.log", flag: write,
			wantErr: ErrUntrustedLink, want: map[string]string{"sys/x.log": "<open " + "CREATED" + ": no such file or directory>"},
		},
		{
			name: "a trusted link as a directory on the way",
			setup: func(tr *tree) {
				tr.dir("var", 0o755, 0)
				tr.dir("real", 0o755, 0)
				tr.link("var/run", "../real", 0)
			},
			open: "var/run/x.pid", flag: trunc,
			want: map[string]string{"real/x.pid": "new"},
		},
		{
			name:  "an accepted file is truncated",
			setup: func(tr *tree) { tr.dir("run", 0o755, 0); tr.file("run/x.pid", "12345\n", 0) },
			open:  "run/x.pid", flag: trunc,
			want: map[string]string{"run/x.pid": "new"},
		},
		{
			name: "a link loop",
			setup: func(tr *tree) {
				tr.dir("d", 0o755, 0)
				tr.link("d/a", "b", 0)
				tr.link("d/b", "a", 0)
			},
			open: "d/a", flag: write,
			wantErr: syscall.ELOOP,
		},
		{
			name: "another user's file in a sticky dir is not written",
			setup: func(tr *tree) {
				tr.dir("tmp", 0o1777, 0)
				tr.file("tmp/x.pid", "planted", other)
			},
			open: "tmp/x.pid", flag: trunc,
			wantErr: ErrUntrustedFile, want: map[string]string{"tmp/x.pid": "planted"},
		},
		{
			name: "another user's file in a sticky dir is read",
			setup: func(tr *tree) {
				tr.dir("tmp", 0o1777, 0)
				tr.file("tmp/x.log", "theirs", other)
			},
			open: "tmp/x.log", flag: read,
		},
		{
			name: "the dir owner's file in their dir is written",
			setup: func(tr *tree) {
				tr.dir("app", 0o755, other)
				tr.file("app/x.log", "old ", other)
			},
			open: "app/x.log", flag: write,
			want: map[string]string{"app/x.log": "old new"},
		},
		{
			name: "a hard link in a dir others can write is not written",
			setup: func(tr *tree) {
				tr.dir("app", 0o755, other)
				tr.file("victim", "precious", 0)
				if err := os.Link(tr.path("victim"), tr.path("app/x.log")); err != nil {
					t.Fatal(err)
				}
			},
			open: "app/x.log", flag: write,
			wantErr: ErrUntrustedFile, want: map[string]string{"victim": "precious"},
		},
		{
			name: "a hard link in a dir only root writes is written",
			setup: func(tr *tree) {
				tr.dir("etc", 0o755, 0)
				tr.file("etc/a", "old ", 0)
				if err := os.Link(tr.path("etc/a"), tr.path("etc/b")); err != nil {
					t.Fatal(err)
				}
			},
			open: "etc/b", flag: write,
			want: map[string]string{"etc/a": "old new"},
		},
		{
			name: "a FIFO without reader fails at once",
			setup: func(tr *tree) {
				tr.dir("tmp", 0o1777, 0)
				if err := unix.Mkfifo(tr.path("tmp/x.log"), 0o666); err != nil {
					t.Fatal(err)
				}
			},
			open: "tmp/x.log", flag: write,
			wantErr: syscall.ENXIO,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := newTree(t)
			if err := os.Chmod(tr.root, 0o755); err != nil {
				t.Fatal(err)
			}
			tt.setup(tr)
			start := time.Now()
			f, err := OpenFile(tr.path(tt.open), tt.flag, 0o644)
			if time.Since(start) > 5*time.Second {
				t.Errorf("open took %v", time.Since(start))
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("open: got %v, want %v", err, tt.wantErr)
				}
				var pe *fs.PathError
				if !errors.As(err, &pe) || pe.Path != tr.path(tt.open) {
					t.Errorf("error %v does not name %s", err, tr.path(tt.open))
				}
			} else {
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				if tt.flag != read {
					if _, err := f.WriteString("new"); err != nil {
						t.Fatal(err)
					}
					if fl, _ := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0); fl&unix.O_NONBLOCK != 0 && tt.flag != read {
						t.Errorf("regular file left in non-blocking mode")
					}
				}
				f.Close()
			}
			for rel, want := range tt.want {
				want = strings.ReplaceAll(want, "CREATED", tr.path(rel))
				if got := tr.read(rel); got != want {
					t.Errorf("%s holds %q, want %q", rel, got, want)
				}
			}
		})
	}
}

// TestOpenFileMagicLinks: /dev/stdout and /proc/self/fd/N name open
// files; the kernel follows them.
func TestOpenFileMagicLinks(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, path := range []string{"/proc/self/fd/" + strconv.Itoa(int(w.Fd())), "/dev/fd/" + strconv.Itoa(int(w.Fd()))} {
		f, err := OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if _, err := f.WriteString("x"); err != nil {
			t.Fatalf("%s: write: %v", path, err)
		}
		f.Close()
		buf := make([]byte, 1)
		if _, err := r.Read(buf); err != nil || buf[0] != 'x' {
			t.Fatalf("%s: the pipe got %q, %v", path, buf, err)
		}
	}
	f, err := OpenFile("/dev/null", os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestDir: rotation's steps happen in the pinned directory even when its
// path is swapped for a link afterwards; temp names are fresh files.
func TestDir(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	tr.dir("home", 0o755, other)
	tr.dir("home/app", 0o755, other)
	tr.dir("elsewhere", 0o755, 0)
	d, err := OpenDir(tr.path("home/app"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// The owner of home swaps app for a link to a directory of root's.
	if err := os.Rename(tr.path("home/app"), tr.path("home/app.moved")); err != nil {
		t.Fatal(err)
	}
	tr.link("home/app", "@elsewhere", other)

	f, name, err := d.CreateTemp("x.log.rotating.", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !strings.HasPrefix(name, "x.log.rotating.") || len(name) != len("x.log.rotating.")+16 {
		t.Errorf("temp name %q", name)
	}
	if err := d.Rename(name, "x.log"); err != nil {
		t.Fatal(err)
	}
	if err := d.Link("x.log", "x.log.1"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"x.log", "x.log.1"} {
		if ok, err := d.Exists(n); !ok || err != nil {
			t.Errorf("Exists(%s) = %v, %v", n, ok, err)
		}
	}
	if err := d.Remove("x.log.1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadDir(tr.path("elsewhere")); len(got) != 0 {
		t.Errorf("the steps went through the swapped-in link: %v", got)
	}
	if _, err := os.Stat(tr.path("home/app.moved/x.log")); err != nil {
		t.Errorf("the file is not in the pinned directory: %v", err)
	}
	if _, err := OpenDir(tr.path("home/app")); !errors.Is(err, ErrUntrustedLink) {
		t.Errorf("reopening the swapped path: %v, want ErrUntrustedLink", err)
	}
}

// TestMkdirAll creates what is missing and refuses a planted link on the
// way.
func TestMkdirAll(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	if err := MkdirAll(tr.path("a/b/c"), 0o755); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(tr.path("a/b/c")); err != nil || !st.IsDir() {
		t.Fatalf("a/b/c: %v", err)
	}
	if err := MkdirAll(tr.path("a/b/c"), 0o755); err != nil {
		t.Errorf("existing: %v", err)
	}
	tr.dir("home", 0o755, other)
	tr.dir("sys", 0o755, 0)
	tr.link("home/logs", "@sys", other)
	if err := MkdirAll(tr.path("home/logs/new"), 0o755); !errors.Is(err, ErrUntrustedLink) {
		t.Errorf("through a planted link: %v, want ErrUntrustedLink", err)
	}
	if _, err := os.Stat(tr.path("sys/new")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sys/new was created through the planted link: %v", err)
	}
}

// TestSocketOwnership: the socket just bound gets its mode and owner; a
// link swapped in for it, or a socket of another user's, is refused and
// left as it was.
func TestSocketOwnership(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	tr.dir("run", 0o755, other)
	sock := tr.path("run/s.sock")
	bind := func() int {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Bind(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
			t.Fatal(err)
		}
		return fd
	}
	fd := bind()
	defer unix.Close(fd)
	if err := ChmodSocket(sock, 0o660); err != nil {
		t.Fatal(err)
	}
	if err := ChownSocket(sock, other, -1); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(sock, &st); err != nil || st.Mode&0o7777 != 0o660 || st.Uid != other || st.Gid != 0 {
		t.Fatalf("socket mode %o uid %d gid %d (%v), want 0660 %d 0", st.Mode&0o7777, st.Uid, st.Gid, err, other)
	}
	// Now another user's: refused.
	if err := ChmodSocket(sock, 0o777); !errors.Is(err, ErrUntrustedFile) {
		t.Errorf("chmod of another user's socket: %v, want ErrUntrustedFile", err)
	}

	// The directory's owner swaps the socket for a link to root's file.
	tr.file("victim", "precious", 0)
	if err := os.Chmod(tr.path("victim"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	tr.link("run/s.sock", "@victim", other)
	if err := ChmodSocket(sock, 0o777); !errors.Is(err, ErrUntrustedFile) {
		t.Errorf("chmod through a swapped-in link: %v, want ErrUntrustedFile", err)
	}
	if err := ChownSocket(sock, other, other); !errors.Is(err, ErrUntrustedFile) {
		t.Errorf("chown through a swapped-in link: %v, want ErrUntrustedFile", err)
	}
	if err := unix.Stat(tr.path("victim"), &st); err != nil || st.Mode&0o7777 != 0o600 || st.Uid != 0 {
		t.Errorf("victim is now mode %o uid %d", st.Mode&0o7777, st.Uid)
	}
}

// TestStat: Stat reports the file a trusted link names, refuses another
// user's link in a directory others can write (without saying anything
// about its target), and stats a FIFO without opening it.
func TestStat(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	tr.dir("tmp", 0o1777, 0)
	tr.file("secret", strings.Repeat("s", 1234), 0)
	tr.file("tmp/own.log", "12345", 0)
	tr.link("tmp/planted", "@secret", other)
	tr.link("tmp/dangling", "@nothing", other)
	tr.link("tmp/roots", "@secret", 0)
	if err := unix.Mkfifo(tr.path("tmp/fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		size    int64
		wantErr error
	}{
		{"tmp/own.log", 5, nil},
		{"tmp/roots", 1234, nil},
		{"tmp/planted", 0, ErrUntrustedLink},
		{"tmp/dangling", 0, ErrUntrustedLink},
		{"tmp/missing", 0, fs.ErrNotExist},
		{"tmp/fifo", 0, nil},
	}
	for _, tt := range tests {
		fi, err := Stat(tr.path(tt.name))
		switch {
		case tt.wantErr != nil:
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Stat(%s) = %v, %v; want %v", tt.name, fi, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "1234") {
				t.Errorf("Stat(%s) error tells of the target: %v", tt.name, err)
			}
		case err != nil:
			t.Errorf("Stat(%s): %v", tt.name, err)
		case fi.Size() != tt.size:
			t.Errorf("Stat(%s) size %d, want %d", tt.name, fi.Size(), tt.size)
		}
	}
}
