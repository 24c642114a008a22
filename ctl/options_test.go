package ctl

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"

	"gosupervisor/internal/pyrepr"
)

func TestGetopt(t *testing.T) {
	tests := []struct {
		args     []string
		wantOpts []parsedOpt
		wantArgs []string
		wantErr  string
	}{
		{args: []string{"status"}, wantArgs: []string{"status"}},
		{args: []string{"-ic", "f", "status", "-c", "x"}, wantOpts: []parsedOpt{{"-i", "interactive", ""}, {"-c", "configuration", "f"}}, wantArgs: []string{"status", "-c", "x"}},
		{args: []string{"-cfile"}, wantOpts: []parsedOpt{{"-c", "configuration", "file"}}, wantArgs: []string{}},
		{args: []string{"--serv=u", "--user", "me", "--", "-x"}, wantOpts: []parsedOpt{{"--serverurl", "serverurl", "u"}, {"--username", "username", "me"}}, wantArgs: []string{"-x"}},
		{args: []string{"--history_file=h"}, wantOpts: []parsedOpt{{"--history_file", "history_file", "h"}}, wantArgs: []string{}},
		{args: []string{"-", "x"}, wantArgs: []string{"-", "x"}},
		{args: []string{"-x"}, wantErr: "option -x not recognized"},
		{args: []string{"-c"}, wantErr: "option -c requires argument"},
		{args: []string{"--h"}, wantErr: "option --h not a unique prefix"},
		{args: []string{"--nope"}, wantErr: "option --nope not recognized"},
		{args: []string{"--help=3"}, wantErr: "option --help must not have an argument"},
		{args: []string{"--password"}, wantErr: "option --password requires argument"},
	}
	for _, tc := range tests {
		t.Run(tc.args[0], func(t *testing.T) {
			opts, args, err := getopt(tc.args)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(opts, tc.wantOpts) || !reflect.DeepEqual(args, tc.wantArgs) {
				t.Errorf("getopt(%q) = %v %q, want %v %q", tc.args, opts, args, tc.wantOpts, tc.wantArgs)
			}
		})
	}
}

func TestParseOptions(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "s.conf")
	if err := os.WriteFile(conf, []byte("[supervisorctl]\nserverurl=unix://%(here)s/../x/sock\nusername=cfguser\npassword=cfgpass\nprompt=mine\nhistory_file=~/hist\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) (string, bool) {
		if k == "HOME" {
			return "/home/me", true
		}
		return "", false
	}
	environ := []string{"HOME=/home/me"}
	tests := []struct {
		name string
		argv []string
		want options
	}{
		{"config values", []string{"ctl", "-c", conf, "status"}, options{
			serverURL: "unix://" + filepath.Join(filepath.Dir(dir), "x", "sock"), username: "cfguser", password: "cfgpass",
			prompt: "mine", historyFile: "/home/me/hist", args: []string{"status"}}},
		{"command line wins", []string{"ctl", "-c", conf, "-s", "http://h:1", "-u", "u", "-p", "p", "-r", "rel/h"}, options{
			serverURL: "http://h:1", username: "u", password: "p", prompt: "mine",
			historyFile: filepath.Join(dir, "rel", "h"), interactive: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseOptions(tc.argv, dir, getenv, environ)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.progname = tc.argv[0]
			got.configFile = ""
			if len(got.args) == 0 {
				got.args = nil
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("parseOptions = %+v\nwant          %+v", *got, tc.want)
			}
		})
	}
}

func TestPyHelpers(t *testing.T) {
	reprs := map[string]string{
		"foo": "'foo'", "it's": `"it's"`, `a'b"c`: `'a\'b"c'`, "x\ny\t": `'x\ny\t'`, "\x01": `'\x01'`,
	}
	for in, want := range reprs {
		if got := pyrepr.Str(in); got != want {
			t.Errorf("pyrepr.Str(%q) = %s, want %s", in, got, want)
		}
	}
	ints := []struct {
		in   string
		want int
		ok   bool
	}{{"100", 100, true}, {"-3", -3, true}, {"+4", 4, true}, {"1_0", 10, true}, {" 7 ", 7, true}, {"٣", 3, true},
		{"_1", 0, false}, {"1__0", 0, false}, {"--3", 0, false}, {"x", 0, false}, {"", 0, false}}
	for _, tc := range ints {
		got, ok := parsePyInt(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parsePyInt(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	specs := []struct{ in, group, process string }{
		{"a", "a", "a"}, {"g:p", "g", "p"}, {"g:*", "g", ""}, {"g:", "g", ""},
	}
	for _, tc := range specs {
		g, p, whole := splitNamespec(tc.in)
		if g != tc.group || p != tc.process || whole != (tc.process == "") {
			t.Errorf("splitNamespec(%q) = %q %q %v", tc.in, g, p, whole)
		}
	}
}

func TestColumnize(t *testing.T) {
	tests := []struct {
		words []string
		width int
		want  string
	}{
		{nil, 79, "<empty>\n"},
		{[]string{"one"}, 79, "one\n"},
		{[]string{"a", "bb", "ccc"}, 79, "a  bb  ccc\n"},
		{[]string{"aaaa", "bb", "c", "dddd"}, 10, "aaaa  c   \nbb    dddd\n"},
		{[]string{"aaaa", "bb", "c", "dddd"}, 8, "aaaa\nbb\nc\ndddd\n"},
	}
	for _, tc := range tests {
		if got := columnize(tc.words, tc.width); got != tc.want {
			t.Errorf("columnize(%q, %d) = %q, want %q", tc.words, tc.width, got, tc.want)
		}
	}
}

func TestComplete(t *testing.T) {
	c := &controller{haveComplete: true, completeInfo: []processInfo{
		{Name: "sleeper", Group: "sleeper"}, {Name: "a", Group: "grp"}, {Name: "b", Group: "grp"},
	}}
	tests := []struct {
		line, word string
		want       []string
	}{
		{"", "", append([]string{"help "}, withSpace(listedCommands())...)},
		{"sta", "sta", []string{"start ", "status "}},
		{"help st", "st", []string{"start ", "status ", "stop "}},
		{"start ", "", []string{"sleeper ", "grp:a ", "grp:* ", "grp:b "}},
		{"stop sl", "sl", []string{"sleeper "}},
		{"stop grp:", "grp:", []string{"grp:a ", "grp:* ", "grp:b "}},
		{"stop sleeper:", "sleeper:", []string{"sleeper:sleeper ", "sleeper:* "}},
		{"update g", "g", []string{"grp "}},
		{"version ", "", nil},
	}
	for _, tc := range tests {
		if got := c.complete(tc.line, tc.word); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("complete(%q, %q) = %q, want %q", tc.line, tc.word, got, tc.want)
		}
	}
}

func withSpace(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n + " "
	}
	return out
}

func TestPyException(t *testing.T) {
	unixErr := &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.ENOENT)}
	tcpErr := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		err  error
		want string
	}{
		{&Fault{Code: 6, String: "SHUTDOWN_STATE"}, "error: <class 'xmlrpc.client.Fault'>, <Fault 6: 'SHUTDOWN_STATE'>: file: /usr/lib/python3.11/xmlrpc/client.py line: 668"},
		{&ProtocolError{Status: 401, Reason: "Unauthorized"}, "error: <class 'xmlrpc.client.ProtocolError'>, <ProtocolError for 127.0.0.1/RPC2: 401 Unauthorized>: file: /usr/lib/python3/dist-packages/supervisor/xmlrpc.py line: 539"},
		{unixErr, "error: <class 'FileNotFoundError'>, [Errno 2] No such file or directory: file: /usr/lib/python3/dist-packages/supervisor/xmlrpc.py line: 557"},
		{tcpErr, "error: <class 'ConnectionRefusedError'>, [Errno 111] Connection refused: file: /usr/lib/python3.11/socket.py line: 836"},
		{&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, "error: <class 'socket.gaierror'>, [Errno -2] Name or service not known: file: /usr/lib/python3.11/socket.py line: 962"},
		{errUnknownProtocol{"https://x"}, "error: <class 'ValueError'>, Unknown protocol for serverurl https://x: file: /usr/lib/python3/dist-packages/supervisor/xmlrpc.py line: 505"},
	}
	for _, tc := range tests {
		if got := pyException(tc.err); got != tc.want {
			t.Errorf("pyException(%v)\n got %s\nwant %s", tc.err, got, tc.want)
		}
	}
}
