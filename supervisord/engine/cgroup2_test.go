package engine

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"gosupervisor/internal/execshim"
	"gosupervisor/internal/procfs"
	"gosupervisor/internal/testenv"
)

// cgroupScript prints the program's cgroup v2 membership and its leaf's
// cgroup.events while it runs ($1 is the leaf).
const cgroupScript = `grep '^0::' /proc/$$/cgroup; grep populated "$1/cgroup.events"`

// cgroup2Root is the cgroup2 mount point and this process's own cgroup
// there; the test fails, naming what is missing, when there is none.
func cgroup2Root(t *testing.T) (mount, own string) {
	t.Helper()
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range procfs.ParseMountinfo(string(mi)) {
		if m.Type == "cgroup2" {
			mount = m.Point
		}
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(cg), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			own = p
		}
	}
	if mount == "" || own == "" {
		t.Fatalf("this test needs a cgroup2 hierarchy (mount %q, own cgroup %q in /proc/self/cgroup)", mount, own)
	}
	return mount, own
}

// testLeaf makes a cgroup v2 leaf under this process's own cgroup and
// removes it when the test ends.
func testLeaf(t *testing.T) (path, rel string) {
	t.Helper()
	mount, own := cgroup2Root(t)
	rel = filepath.Join(own, fmt.Sprintf("gosupervisor-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	path = filepath.Join(mount, rel)
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatalf("this test needs a writable cgroup2 hierarchy at %s: %v", mount, err)
	}
	t.Cleanup(func() {
		testenv.Eventually(t, 10*time.Second, func() error { return unix.Rmdir(path) })
	})
	return path, rel
}

// spawnInto starts cgroupScript through r into leaf and returns its pid
// and output (it waits for that pid: no engine runs here).
func spawnInto(r *realOS, leaf string, shim bool) (int, string, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, "", err
	}
	defer pr.Close()
	spec := &SpawnSpec{
		Path: "/bin/sh", Argv: []string{"sh", "-c", cgroupScript, "sh", leaf},
		Umask: -1, Files: []*os.File{nil, pw, pw}, CgroupDir: leaf,
	}
	if shim {
		spec.Rlimits = []execshim.Rlimit{{Resource: unix.RLIMIT_CORE, Cur: 0, Max: 0}}
	}
	pid, err := r.Start(spec)
	pw.Close()
	if err != nil {
		return 0, "", err
	}
	out, _ := io.ReadAll(bufio.NewReader(pr))
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		return pid, string(out), err
	}
	return pid, string(out), nil
}

// TestRealCgroup2Placement: a child with a cgroup v2 leaf is created in
// it by clone3(CLONE_INTO_CGROUP), directly and through the exec shim;
// with clone3 failing ENOSYS the shim joins the leaf before the program
// runs. The leaf is populated while the program runs and empty after.
func TestRealCgroup2Placement(t *testing.T) {
	leaf, rel := testLeaf(t)
	mount, _ := cgroup2Root(t)
	offered, _ := os.ReadFile(filepath.Join(mount, "cgroup.controllers"))
	t.Logf("tested here: v2 placement and cgroup.events in %s; limits on v2 are not (its cgroup.controllers: %q)", mount, strings.TrimSpace(string(offered)))
	want := "0::" + rel + "\npopulated 1\n"
	r := newRealOS()
	defer r.Close()
	for _, shim := range []bool{false, true} {
		_, out, err := spawnInto(r, leaf, shim)
		if err != nil || out != want {
			t.Errorf("shim=%v: output %q (%v), want %q", shim, out, err, want)
		}
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		b, _ := os.ReadFile(filepath.Join(leaf, "cgroup.events"))
		if !strings.Contains(string(b), "populated 0") {
			return fmt.Errorf("leaf still populated: %s", b)
		}
		return nil
	})

	t.Run("clone3 ENOSYS", func(t *testing.T) {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		for _, shim := range []string{"direct", "shim"} {
			out, err := testenvCommand(self, "no-clone3", leaf, shim)
			if err != nil {
				t.Fatalf("%s: helper: %v\n%s", shim, err, out)
			}
			wantOut := "clone3: function not implemented\n" + want
			if out != wantOut {
				t.Errorf("%s: helper printed %q, want %q", shim, out, wantOut)
			}
		}
	})
}

// testenvCommand runs this test binary as a child mode and returns its
// output.
func testenvCommand(self string, args ...string) (string, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return "", err
	}
	defer pr.Close()
	p, err := os.StartProcess(self, append([]string{self}, args...), &os.ProcAttr{
		Env:   append(os.Environ(), childEnvVar+"=1"),
		Files: []*os.File{nil, pw, os.Stderr},
	})
	pw.Close()
	if err != nil {
		return "", err
	}
	out, _ := io.ReadAll(pr)
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(p.Pid, &ws, 0, nil); err != nil {
		return string(out), err
	}
	if ws.ExitStatus() != 0 {
		return string(out), fmt.Errorf("exit status %v", ws)
	}
	return string(out), nil
}

// spawnWithoutClone3 is the no-clone3 child mode.
func spawnWithoutClone3(args []string) int {
	if err := denyClone3(); err != nil {
		fmt.Println("seccomp:", err)
		return 1
	}
	leaf := args[0]
	fd, err := unix.Open(leaf, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	// What a direct CLONE_INTO_CGROUP spawn now gets.
	_, err = os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{Sys: &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}})
	unix.Close(fd)
	if !errors.Is(err, syscall.ENOSYS) {
		fmt.Println("clone3 was not refused:", err)
		return 1
	}
	fmt.Println("clone3: function not implemented")
	r := newRealOS()
	defer r.Close()
	_, out, err := spawnInto(r, leaf, args[1] == "shim")
	if err != nil {
		fmt.Println("spawn:", err)
		return 1
	}
	fmt.Print(out)
	return 0
}

// denyClone3 installs a seccomp filter on every thread that makes
// clone3 fail with ENOSYS, as on kernels before 5.3 or under container
// runtimes' default profiles.
func denyClone3() error {
	const nrClone3 = 435 // x86_64 and most 64-bit architectures
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4}, // arch
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 1, Jf: 0, K: unix.AUDIT_ARCH_X86_64},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: nrClone3},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		return errno
	}
	return nil
}
