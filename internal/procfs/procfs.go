// Package procfs reads the process table from /proc to measure process
// trees: CPU time and resident memory of a process and all its
// descendants (as superlance's memmon -c measures them), for the
// memory threshold restart, getProcessResources and metrics.
//
// A Scan reads one file per process (/proc/<pid>/stat: parent, CPU times
// and RSS in one read) with raw system calls and one reused buffer; it
// never blocks on anything but those reads and holds no state between
// scans, so it runs on whichever goroutine asks, never the engine's.
package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ticksPerSecond is USER_HZ, the unit of /proc/<pid>/stat's CPU times:
// 100 on every Linux architecture's user ABI.
const ticksPerSecond = 100

// Proc is one process as /proc/<pid>/stat shows it.
type Proc struct {
	PID, PPID int
	PGRP      int // process group
	// CPUTicks is user + system time, own and of waited-for children
	// (utime + stime + cutime + cstime), in USER_HZ ticks: a child's time
	// moves to its parent's when it is reaped, so a tree's sum does not
	// drop when a descendant exits and is waited for.
	CPUTicks uint64
	// RSSPages is the resident set in pages (what statm's resident shows).
	RSSPages uint64
}

// Table is one scan of the process table.
type Table struct {
	procs    map[int]Proc
	children map[int][]int
	pageSize uint64
}

// Usage is what a process tree uses at the moment of a scan.
type Usage struct {
	// Processes counts the tree's processes (0: the root has exited).
	Processes int
	// CPU is the tree's CPU time (see Proc.CPUTicks).
	CPU time.Duration
	// RSS is the sum of the tree's resident sets in bytes; pages shared
	// between processes count once per process, as memmon counts them.
	RSS uint64
}

// Scan reads every process under root (normally "/proc").
func Scan(root string) (*Table, error) {
	dirfd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: root, Err: err}
	}
	defer unix.Close(dirfd)
	t := &Table{procs: map[int]Proc{}, children: map[int][]int{}, pageSize: uint64(os.Getpagesize())}
	dirbuf := make([]byte, 32<<10)
	statbuf := make([]byte, 4096)
	path := make([]byte, 0, 32)
	for {
		n, err := unix.Getdents(dirfd, dirbuf)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", root, err)
		}
		if n <= 0 {
			break
		}
		for b := dirbuf[:n]; len(b) > 0; {
			reclen := int(uint16(b[16]) | uint16(b[17])<<8)
			if reclen == 0 || reclen > len(b) {
				break
			}
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			b = b[reclen:]
			pid, ok := atoi(name)
			if !ok {
				continue
			}
			path = append(append(path[:0], name...), "/stat"...)
			p, ok := readStat(dirfd, path, statbuf)
			if !ok || p.PID != pid {
				continue // gone since the directory was read
			}
			t.procs[pid] = p
			t.children[p.PPID] = append(t.children[p.PPID], pid)
		}
	}
	return t, nil
}

// Stat reads one process's /proc/<pid>/stat; false when it is gone or
// unreadable.
func Stat(pid int) (Proc, bool) {
	var buf [4096]byte
	p, ok := readStat(unix.AT_FDCWD, []byte("/proc/"+strconv.Itoa(pid)+"/stat"), buf[:])
	return p, ok && p.PID == pid
}

// readStat reads and parses one <pid>/stat under dirfd.
func readStat(dirfd int, path, buf []byte) (Proc, bool) {
	fd, err := unix.Openat(dirfd, string(path), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Proc{}, false
	}
	n, err := unix.Read(fd, buf)
	unix.Close(fd)
	if err != nil || n <= 0 {
		return Proc{}, false
	}
	return parseStat(buf[:n])
}

// parseStat reads proc(5)'s stat line: "pid (comm) state ppid ...". comm
// may hold spaces and parentheses, so fields are counted after the last
// ')'.
func parseStat(b []byte) (Proc, bool) {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 1 || closing < open || closing+2 > len(b) {
		return Proc{}, false
	}
	pid, ok := atoi(bytes.TrimSpace(b[:open]))
	if !ok {
		return Proc{}, false
	}
	// Fields after comm, numbered from 3 (state) as in proc(5).
	var f [25]uint64
	field := 3
	for _, w := range bytes.Fields(b[closing+2:]) {
		if field >= len(f) {
			break
		}
		if field > 3 {
			f[field], _ = strconv.ParseUint(string(w), 10, 64)
		}
		field++
	}
	if field < 25 {
		return Proc{}, false
	}
	// cutime and cstime are signed in the kernel's format but never
	// negative in practice; ParseUint leaves 0 for a "-1".
	return Proc{PID: pid, PPID: int(f[4]), PGRP: int(f[5]), CPUTicks: f[14] + f[15] + f[16] + f[17], RSSPages: f[24]}, true
}

func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// Tree is the usage of pid and all its descendants.
func (t *Table) Tree(pid int) Usage {
	var u Usage
	var ticks uint64
	stack := []int{pid}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		pr, ok := t.procs[p]
		if !ok {
			continue
		}
		u.Processes++
		ticks += pr.CPUTicks
		u.RSS += pr.RSSPages * t.pageSize
		stack = append(stack, t.children[p]...)
	}
	u.CPU = time.Duration(ticks) * (time.Second / ticksPerSecond)
	return u
}

// Len is the number of processes scanned.
func (t *Table) Len() int { return len(t.procs) }
