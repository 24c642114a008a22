package logrot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"gosupervisor/internal/safefs"
)

// ChunkSize is the most a Pump moves per read, the reference's 128 KiB.
// A rotated file ends at most one chunk past maxbytes.
const ChunkSize = 128 << 10

// Option configures a Writer.
type Option func(*Writer)

// WithPerm sets the permission bits a newly created log file gets (before
// the umask). The default 0666 gives the reference's umask-derived modes
// (0644 under umask 022); AUTO child logs use 0600.
func WithPerm(perm fs.FileMode) Option {
	return func(w *Writer) { w.perm = perm }
}

// WithOnError sets a callback told about write and reopen failures. It is
// called once per failure episode (again only after a write has succeeded
// in between), never while the Writer's lock is held, so it may log
// elsewhere. A recreated log directory is reported too.
func WithOnError(f func(error)) Option {
	return func(w *Writer) { w.onError = f }
}

// WithClock sets the clock used to pace the check for a removed log file
// (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(w *Writer) { w.now = now }
}

// removedCheckInterval paces the fstat that notices a log file removed
// from under the Writer (rm, or its directory deleted): at most one
// interval of output goes to the unlinked file before it is recreated.
const removedCheckInterval = time.Second

// Writer is a log file that rotates like Supervisor's RotatingFileHandler.
// It is safe for concurrent use: a Pump writes while RPC goroutines call
// Reopen, Clear or Close.
//
// Writes go to the end of the file as with O_APPEND (so an external
// "copytruncate" makes the next write land at offset 0), but the file is
// opened without O_APPEND because splice(2) refuses append-mode targets.
// Rotation and position tracking only apply to regular files; a pipe, tty
// or device (e.g. /dev/stdout) is written plainly and never rotated.
type Writer struct {
	path     string
	maxBytes int64
	backups  int
	perm     fs.FileMode
	onError  func(error)
	now      func() time.Time

	dropped atomic.Int64

	mu      sync.Mutex
	f       *os.File // nil after a failed reopen; the next write retries
	fd      int      // f's descriptor for splice; valid while f is, both guarded by mu
	regular bool     // f is a regular file: seek to end, rotate
	closed  bool
	failing bool      // an error was reported and no write has succeeded since
	checked time.Time // last check for a removed file

	rotateFailing bool // a rotation failed and was reported; none has succeeded since
	chunks        chunkPool
	// gen counts the files adopted: a Trail's offsets are valid while
	// it is unchanged.
	gen uint64
}

// Open opens (creating if needed) the log file at path for appending.
// maxBytes ≤ 0 never rotates; backups is the number of rotated files kept
// (0 truncates on rotation). The directory must exist: a missing directory
// is the caller's configuration error here, while later on (rotation,
// Reopen) the Writer recreates it.
func Open(path string, maxBytes int64, backups int, opts ...Option) (*Writer, error) {
	w := &Writer{path: path, maxBytes: maxBytes, backups: max(backups, 0), perm: 0o666, now: time.Now}
	for _, o := range opts {
		o(w)
	}
	f, err := safefs.OpenFile(path, os.O_WRONLY|os.O_CREATE, w.perm)
	if err != nil {
		return nil, fmt.Errorf("open log %q: %w", path, err)
	}
	if err := w.adopt(f); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// Path is the file name the Writer writes to.
func (w *Writer) Path() string { return w.path }

// Dropped is the number of bytes lost to write failures so far.
func (w *Writer) Dropped() int64 { return w.dropped.Load() }

// adopt makes f the current file. Caller holds mu (or owns w exclusively).
func (w *Writer) adopt(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat log %q: %w", w.path, err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("log %q: %w", w.path, err)
	}
	if err := rc.Control(func(fd uintptr) { w.fd = int(fd) }); err != nil {
		return fmt.Errorf("log %q: %w", w.path, err)
	}
	w.f = f
	w.regular = st.Mode().IsRegular()
	w.checked = w.now()
	w.gen++
	return nil
}

// Write writes p whole at the end of the file, then rotates if the file
// has reached maxBytes. On failure the unwritten bytes are counted in
// Dropped, the error is reported once through the OnError callback and
// also returned; the Writer stays usable and retries on the next write.
func (w *Writer) Write(p []byte) (int, error) {
	return w.write(p, nil)
}

// write is Write, noting where p landed in trail (when not nil).
func (w *Writer) write(p []byte, trail *Trail) (int, error) {
	w.mu.Lock()
	n, report, err := w.writeLocked(p, trail)
	w.mu.Unlock()
	w.notify(report)
	return n, err
}

func (w *Writer) writeLocked(p []byte, trail *Trail) (n int, report, err error) {
	if w.closed {
		w.dropped.Add(int64(len(p)))
		return 0, nil, fmt.Errorf("write log %q: %w", w.path, os.ErrClosed)
	}
	if w.f == nil {
		if report, err = w.reopenLocked(); err != nil {
			w.dropped.Add(int64(len(p)))
			return 0, report, err
		}
	} else if report, err = w.checkRemovedLocked(); err != nil {
		w.dropped.Add(int64(len(p)))
		return 0, report, err
	}
	var end int64
	if w.regular {
		if end, err = w.f.Seek(0, io.SeekEnd); err != nil {
			w.dropped.Add(int64(len(p)))
			err = fmt.Errorf("write log %q: %w", w.path, err)
			return 0, w.fail(err), err
		}
	}
	n, err = w.f.Write(p)
	if err != nil {
		w.dropped.Add(int64(len(p) - n))
		err = fmt.Errorf("write log %q: %w", w.path, err)
		return n, w.fail(err), err
	}
	w.failing = false
	if w.regular {
		trail.add(w.gen, end, int64(n))
	}
	return n, w.afterWrite(end+int64(n), report), nil
}

// checkRemovedLocked reopens the file, at most once per
// removedCheckInterval, if it was unlinked (its directory too, maybe): the
// reference would keep writing into the void until the next rotation.
// Caller holds mu and w.f is open.
func (w *Writer) checkRemovedLocked() (report, err error) {
	if !w.regular {
		return nil, nil
	}
	now := w.now()
	if now.Sub(w.checked) < removedCheckInterval {
		return nil, nil
	}
	w.checked = now
	return w.recreateIfRemovedLocked()
}

// recreateIfRemovedLocked is the once-a-second part of
// checkRemovedLocked, apart so that its stat buffer is not on the stack
// of every write and splice (a Pump's stack depth decides whether it fits
// in 2 KiB). Caller holds mu and w.f is open.
func (w *Writer) recreateIfRemovedLocked() (report, err error) {
	var st unix.Stat_t
	if unix.Fstat(w.fd, &st) != nil || st.Nlink > 0 {
		return nil, nil
	}
	w.f.Close()
	w.f = nil
	report, err = w.reopenLocked()
	if err == nil && report == nil {
		report = fmt.Errorf("log file %q was removed: recreated it", w.path)
	}
	return report, err
}

// afterWrite rotates when the file position reached maxBytes, keeping any
// earlier report. Caller holds mu.
func (w *Writer) afterWrite(pos int64, report error) error {
	if !w.regular || w.maxBytes <= 0 || pos < w.maxBytes {
		return report
	}
	if r := w.rotateLocked(); r != nil {
		return r
	}
	return report
}

// fail records an error episode and returns the error to report, or nil
// when this episode was already reported. Caller holds mu.
func (w *Writer) fail(err error) error {
	if w.failing {
		return nil
	}
	w.failing = true
	return err
}

func (w *Writer) notify(err error) {
	if err != nil && w.onError != nil {
		w.onError(err)
	}
}

// rotateLocked shifts the backups and starts a fresh base file, as the
// reference's doRollover: close; .N-1→.N … .1→.2; base→.1; reopen base
// truncated. With no backups the base is only truncated. Caller holds mu.
//
// Every step works on names in the log's directory, opened once (a path
// swapped for a link meanwhile changes nothing): renames and links never
// follow a link at either name, and the new base file is created under an
// unpredictable name with O_EXCL, so nothing another user planted is
// written to or becomes the live log.
func (w *Writer) rotateLocked() error {
	w.f.Close()
	w.f = nil
	var errs []error
	flag := os.O_TRUNC
	opened := false
	if w.backups > 0 {
		d, err := safefs.OpenDir(filepath.Dir(w.path))
		switch {
		case err == nil:
			errs, opened = w.shiftLocked(d, filepath.Base(w.path))
			d.Close()
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
		// (A vanished directory has nothing to shift: openLocked
		// recreates it.)
		if len(errs) > 0 {
			// Unlike the reference, when a shift fails keep the bytes: no
			// backup is overwritten, the base keeps growing and the
			// rotation is retried after the next write.
			flag = 0
		}
	}
	var report error
	if !opened {
		var err error
		if report, err = w.openLocked(flag); err != nil {
			return w.fail(err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		if w.rotateFailing {
			return report
		}
		w.rotateFailing = true
		return fmt.Errorf("rotate log %q: %w", w.path, err)
	}
	w.rotateFailing = false
	return report
}

// shiftLocked renames the backups up one and gives the base its .1 name,
// reporting whether the new base file is already open (adopted). Caller
// holds mu.
func (w *Writer) shiftLocked(d *safefs.Dir, base string) (errs []error, opened bool) {
	for i := w.backups - 1; i >= 1; i-- {
		src := backupName(base, i)
		if ok, err := d.Exists(src); err != nil {
			errs = append(errs, err)
		} else if ok {
			errs = append(errs, removeAndRename(d, src, backupName(base, i+1)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return []error{err}, false
	}
	if f := w.freshBaseLocked(d, base, true); f != nil {
		// The base name already holds the new, empty file.
		if err := w.adopt(f); err != nil {
			f.Close()
			return []error{err}, false
		}
		return nil, true
	}
	if err := renameTolerant(d, base, backupName(base, 1)); err != nil {
		return []error{err}, false
	}
	return nil, false
}

func backupName(base string, i int) string { return base + "." + strconv.Itoa(i) }

// tempInfix starts the unpredictable name a new base file has until it is
// renamed into place ("x.log.tmp.<16 hex digits>").
const tempInfix = ".tmp."

// freshBaseLocked puts a new empty file at the base name by an atomic
// rename, so that the base name never goes missing: a reader between the
// reference's rename and reopen would get NO_FILE. With linkOne the
// current file first gets its .1 name by a hard link. It returns the new
// file, or nil, having changed nothing a fallback cannot redo, when the
// filesystem will not do it. Caller holds mu and has shifted the older
// backups.
func (w *Writer) freshBaseLocked(d *safefs.Dir, base string, linkOne bool) *os.File {
	f, tmp, err := d.CreateTemp(base+tempInfix, w.perm)
	if err != nil {
		return nil
	}
	drop := func() *os.File {
		f.Close()
		_ = d.Remove(tmp)
		return nil
	}
	if linkOne {
		one := backupName(base, 1)
		if err := d.Remove(one); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return drop()
		}
		if err := d.Link(base, one); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return drop()
		}
	}
	if err := d.Rename(tmp, base); err != nil {
		return drop()
	}
	return f
}

// removeAndRename moves src to dst after removing dst, as the reference
// does. Renaming over an existing file would be one step, but on ext4
// (auto_da_alloc) it makes the rename write src's dirty pages out at once,
// in the daemon: 50 MB per rotation, the flusher's work otherwise.
func removeAndRename(d *safefs.Dir, src, dst string) error {
	if err := d.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return renameTolerant(d, src, dst)
}

// renameTolerant renames, ignoring a missing source (a cleanup script may
// have removed the active log), like the reference's removeAndRename.
func renameTolerant(d *safefs.Dir, src, dst string) error {
	if err := d.Rename(src, dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// openLocked opens the base file with extra flags, recreating a vanished
// directory. It returns a report for a recovered problem (the directory was
// recreated) or an error when the file cannot be opened; then w.f stays nil
// and the next write retries. Caller holds mu.
func (w *Writer) openLocked(flag int) (report, err error) {
	f, err := safefs.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|flag, w.perm)
	if errors.Is(err, fs.ErrNotExist) {
		dir := filepath.Dir(w.path)
		if mkErr := safefs.MkdirAll(dir, 0o777); mkErr != nil {
			return nil, fmt.Errorf("open log %q: recreate directory: %w", w.path, mkErr)
		}
		report = fmt.Errorf("log directory %q vanished: recreated it", dir)
		f, err = safefs.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|flag, w.perm)
	}
	if err != nil {
		return nil, fmt.Errorf("open log %q: %w", w.path, err)
	}
	if err := w.adopt(f); err != nil {
		f.Close()
		return nil, err
	}
	return report, nil
}

// reopenLocked reopens the base file for appending, reporting at most once
// per failure episode. Caller holds mu.
func (w *Writer) reopenLocked() (report, err error) {
	report, err = w.openLocked(0)
	if err != nil {
		return w.fail(err), err
	}
	return report, nil
}

// Reopen closes and reopens the file by name, for SIGUSR2 after an external
// logrotate moved it. A vanished directory is recreated (and reported to
// OnError); a failure is returned, not reported, and later writes retry.
func (w *Writer) Reopen() error {
	w.mu.Lock()
	var report, err error
	if w.closed {
		err = fmt.Errorf("reopen log %q: %w", w.path, os.ErrClosed)
	} else {
		if w.f != nil {
			w.f.Close()
			w.f = nil
		}
		report, err = w.openLocked(0)
		w.failing = err != nil // returned to the caller: writes need not report it again
	}
	w.mu.Unlock()
	w.notify(report)
	return err
}

// Clear removes the file and starts an empty one, as clearProcessLogs and
// clearLog do; rotated backups are kept. Errors are returned as by Reopen.
func (w *Writer) Clear() error {
	w.mu.Lock()
	var report, err error
	switch {
	case w.closed:
		err = fmt.Errorf("clear log %q: %w", w.path, os.ErrClosed)
	default:
		if w.f != nil {
			w.f.Close()
			w.f = nil
		}
		report, err = w.clearLocked()
		w.failing = err != nil // returned to the caller: writes need not report it again
	}
	w.mu.Unlock()
	w.notify(report)
	return err
}

// clearLocked starts an empty base file: a new one renamed into place, or
// where that cannot be done the old one removed and the name reopened.
// Caller holds mu and has closed w.f.
func (w *Writer) clearLocked() (report, err error) {
	if d, dirErr := safefs.OpenDir(filepath.Dir(w.path)); dirErr == nil {
		f := w.freshBaseLocked(d, filepath.Base(w.path), false)
		d.Close()
		if f != nil {
			if err := w.adopt(f); err != nil {
				f.Close()
				return nil, err
			}
			return nil, nil
		}
	}
	if rmErr := os.Remove(w.path); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
		err = fmt.Errorf("clear log %q: %w", w.path, rmErr)
	}
	r, openErr := w.openLocked(0)
	return r, errors.Join(err, openErr)
}

// Close closes the file. Later writes fail with os.ErrClosed and count as
// dropped. Closing twice is harmless.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("close log %q: %w", w.path, err)
	}
	return nil
}

// chunkPool lends ChunkSize read buffers. A Pump borrows one only while a
// read is actually returning data, so an idle pipe holds none and the
// garbage collector may reclaim them; a Writer carries one pool so its
// Pump reuses the same buffer without allocating per chunk.
type chunkPool struct{ pool sync.Pool }

func (c *chunkPool) get() *[]byte {
	if b, ok := c.pool.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, ChunkSize)
	return &b
}

func (c *chunkPool) put(b *[]byte) { c.pool.Put(b) }
