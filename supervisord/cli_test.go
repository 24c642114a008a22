package supervisord_test

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/testenv"
)

// cliResult is what one invocation printed and returned.
type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs bin with args in dir and returns its exit status and output,
// with the binary's path replaced by <argv0> (it appears in "For help, use
// <argv0> -h"). The run must end within timeout: every case here fails
// before starting anything, or prints and exits.
func runCLI(t *testing.T, dir, bin string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s %q did not exit", bin, args)
	}
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	norm := func(s string) string {
		s = strings.ReplaceAll(s, bin, "<argv0>")
		s = strings.ReplaceAll(s, dir, "DIR")
		return logStampRE.ReplaceAllString(s, "")
	}
	return cliResult{code, norm(stdout.String()), norm(stderr.String())}
}

// logStampRE matches the timestamp of a main-log line copied to stdout.
var logStampRE = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} `)

// TestFlagErrorsMatchReference runs command lines that end before the
// daemon starts (bad flags, bad values, bad configs, -v) with our
// supervisord and the reference and compares exit status, stdout and
// stderr byte for byte.
func TestFlagErrorsMatchReference(t *testing.T) {
	testenv.RequireReference(t)
	t.Parallel()
	ours := filepath.Join(testenv.Binaries(t), "supervisord")
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := "[supervisord]\nlogfile=" + dir + "/sd.log\npidfile=" + dir + "/sd.pid\n"
	write("good.conf", base)
	write("nocommand.conf", base+"[program:x]\nautostart=true\n")
	write("badbool.conf", base+"[program:x]\ncommand=/bin/true\nautostart=maybe\n")
	write("badsize.conf", "[supervisord]\nlogfile_maxbytes=10XB\n")
	write("noport.conf", base+"[inet_http_server]\nusername=a\npassword=b\n")
	write("halfauth.conf", base+"[unix_http_server]\nfile="+dir+"/s.sock\nusername=a\n")
	write("baduser.conf", base+"user=nosuchuser_e2\n")
	write("procname.conf", base+"[program:x]\ncommand=/bin/true\nnumprocs=2\n")
	write("badsignal.conf", base+"[program:x]\ncommand=/bin/true\nstopsignal=NOPE\n")
	// Above fs.nr_open: even root cannot raise RLIMIT_NOFILE that far.
	write("minfds.conf", base+"minfds=2000000\n")
	// Several mistakes, the first of them after integers only Python's
	// int() accepts (Unicode digits, underscores): the same first error.
	write("multi_format.conf", base+"minfds=١٠٢٤\n[program:x]\ncommand=/bin/x %(bad)s\nstartsecs=٣\n")
	write("multi_procnum.conf", base+"[program:x]\ncommand=/bin/true\nstartsecs=٣\nnumprocs=٢\nstopsignal=BOGUS\n")
	write("multi_name.conf", base+"logfile_backups=٣\n[program:a b]\ncommand=/bin/true\nstopsignal=BOGUS\n")
	write("multi_unixfile.conf", base+"[program:x]\ncommand=/bin/true\nstdout_logfile_backups=٣\n[unix_http_server]\nchmod=0700\n")
	write("multi_logdir.conf", "[supervisord]\nminfds=1_024\nlogfile=/nonexistent_e2/x.log\n[program:x]\nstartsecs=x\n")
	write("multi_minfds.conf", base+"minfds=２٠٠٠٠٠0\n[program:x]\ncommand=/bin/true\nstartsecs=３\n")
	write("multi_signal.conf", base+"[program:x]\ncommand=/bin/true\nstartretries=٣\nexitcodes=٠, 1_0\nstopsignal=BOGUS\n")
	write("multi_fcgi.conf", base+"[program:x]\ncommand=/bin/true\nstopsignal=٩\n[fcgi-program:f]\ncommand=/bin/true\nsocket=tcp://127.0.0.1:٩٠٠٠\nsocket_backlog=٥\nnumprocs=٢\n")

	cases := [][]string{
		{"-x"},
		{"--bogus"},
		{"-v"},
		{"--version"},
		{"-v", "-m", "8"},
		{"-c"},
		{"--configuration"},
		{"-c", "nonexistent.conf"},
		{"--conf=nonexistent.conf"},
		{"-c", "good.conf", "foo"},
		{"-c", "good.conf", "-n", "-n"},
		{"-c", "good.conf", "-c", "good.conf"},
		{"-m", "8"},
		{"-m", "abc"},
		{"-a", "abc"},
		{"--minprocs=x"},
		{"-y", "10XB"},
		{"-z", "x"},
		{"-e", "bogus"},
		{"-d", "/nonexistent_e2"},
		{"-q", "/nonexistent_e2"},
		{"-l", "/nonexistent_e2/x.log"},
		{"-j", "/nonexistent_e2/x.pid"},
		{"--nodaemon=1"},
		{"--log"},
		{"-nc"},
		{"-c", "good.conf", "-u", "nosuchuser_e2"},
		{"-c", "nocommand.conf"},
		{"-c", "badbool.conf"},
		{"-c", "badsize.conf"},
		{"-c", "noport.conf"},
		{"-c", "halfauth.conf"},
		{"-c", "baduser.conf"},
		{"-c", "procname.conf"},
		{"-c", "badsignal.conf"},
		{"-n", "-c", "minfds.conf"},
		{"-c", "minfds.conf"}, // fails in the daemon half of our detach
		{"-c", "multi_format.conf"},
		{"-c", "multi_procnum.conf"},
		{"-c", "multi_name.conf"},
		{"-c", "multi_unixfile.conf"},
		{"-c", "multi_logdir.conf"},
		{"-n", "-c", "multi_minfds.conf"},
		{"-c", "multi_signal.conf"},
		{"-c", "multi_fcgi.conf"},
		{"-m", "٠٢٢", "-a", "١_٠٢٤", "--minprocs=２٠٠", "-z", " ٣ ", "-c", "multi_procnum.conf"},
		{"-z", "٣x"},
		{"-m", "٨"},
		{"-y", "٣KB", "-c", "multi_name.conf"},
	}
	// A few at a time: each Python start costs ~0.3 s of CPU.
	slots := make(chan struct{}, 3)
	for _, args := range cases {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			t.Parallel()
			slots <- struct{}{}
			defer func() { <-slots }()
			got := runCLI(t, dir, ours, args...)
			want := runCLI(t, dir, testenv.PythonSupervisord, args...)
			if got != want {
				t.Errorf("supervisord %q\nours: exit %d\nstdout: %q\nstderr: %q\nref:  exit %d\nstdout: %q\nstderr: %q",
					args, got.code, got.stdout, got.stderr, want.code, want.stdout, want.stderr)
			}
		})
	}
}

// TestHelp checks -h, -? and --help print a usage that names every option
// and exit 0 (the wording is ours; the reference prints its docstring).
func TestHelp(t *testing.T) {
	t.Parallel()
	ours := filepath.Join(testenv.Binaries(t), "supervisord")
	for _, flag := range []string{"-h", "-?", "--help", "--he"} {
		got := runCLI(t, t.TempDir(), ours, flag)
		if got.code != 0 || got.stderr != "" {
			t.Errorf("%s: exit %d, stderr %q", flag, got.code, got.stderr)
		}
		for _, opt := range []string{"-c/--configuration", "-n/--nodaemon", "-s/--silent", "-v/--version",
			"-u/--user", "-m/--umask", "-d/--directory", "-l/--logfile", "-y/--logfile_maxbytes",
			"-z/--logfile_backups", "-e/--loglevel", "-j/--pidfile", "-i/--identifier",
			"-q/--childlogdir", "-k/--nocleanup", "-a/--minfds", "-t/--strip_ansi", "--minprocs",
			"--profile_options", "Usage: <argv0> [options]"} {
			if !strings.Contains(got.stdout, opt) {
				t.Errorf("%s: help lacks %q:\n%s", flag, opt, got.stdout)
			}
		}
	}
}

// TestAddressInUseMatchesReference starts both daemons on a unix socket
// and an inet port that something else serves: each must fail with the
// reference's message and exit 2, in the foreground and when asked to
// daemonize (the error reaches the terminal before detaching).
func TestAddressInUseMatchesReference(t *testing.T) {
	testenv.RequireReference(t)
	t.Parallel()
	ours := filepath.Join(testenv.Binaries(t), "supervisord")
	dir := t.TempDir()
	sock := filepath.Join(dir, "taken.sock")
	unixLn, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer unixLn.Close()
	// The reference probes a socket it finds with an HTTP request.
	go func() { _ = http.Serve(unixLn, http.NotFoundHandler()) }()
	inetLn, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inetLn.Close()
	port := strconv.Itoa(inetLn.Addr().(*net.TCPAddr).Port)
	base := "[supervisord]\nlogfile=" + dir + "/sd.log\npidfile=" + dir + "/sd.pid\nchildlogdir=" + dir + "\n" +
		"[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
	confs := map[string]string{
		"unix.conf": base + "[unix_http_server]\nfile=" + sock + "\n",
		"inet.conf": base + "[inet_http_server]\nport=127.0.0.1:" + port + "\n",
	}
	for name, text := range confs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"-n", "-c", "unix.conf"},
		{"-n", "-c", "inet.conf"},
		{"-c", "unix.conf"},
		{"-c", "inet.conf"},
	} {
		got := runCLI(t, dir, ours, args...)
		want := runCLI(t, dir, testenv.PythonSupervisord, args...)
		if got != want || want.code != 2 {
			t.Errorf("supervisord %q\nours: %+v\nref:  %+v", args, got, want)
		}
	}
}
