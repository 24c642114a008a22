package rpc

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"gosupervisor/internal/protocol"
	"gosupervisor/internal/testenv"
	"gosupervisor/supervisord/engine"
)

// pythonDumps runs /usr/bin/python3 once and returns
// xmlrpc.client.dumps((expr,), methodresponse=True) for every expression,
// or dumps(Fault(...)) for expressions starting with "Fault(".
func pythonDumps(t *testing.T, exprs []string) []string {
	t.Helper()
	script := `
import json, sys, datetime
import xmlrpc.client as x
from xmlrpc.client import Fault, Binary
out = []
for e in json.load(sys.stdin):
    v = eval(e)
    if isinstance(v, Fault):
        out.append(x.dumps(v, methodresponse=True))
    else:
        out.append(x.dumps((v,), methodresponse=True))
json.dump(out, sys.stdout)
`
	in, _ := json.Marshal(exprs)
	cmd := exec.Command(testenv.Python3, "-c", script)
	cmd.Dir = t.TempDir() // keep supervisor's xmlrpc.py off sys.path
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestEncodeMatchesPython(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		value  any
		python string
	}{
		{"int", 42, "42"},
		{"negative int", -7, "-7"},
		{"int64", int64(1<<31 - 1), "2**31-1"},
		{"true", true, "True"},
		{"false", false, "False"},
		{"empty string", "", "''"},
		{"escaped string", `a<b>&"c'`, `'a<b>&"c\''`},
		{"unicode", "héllo ☃", "'héllo ☃'"},
		{"newlines tab cr", "a\nb\tc\r\n", `'a\nb\tc\r\n'`},
		{"double", 1.5, "1.5"},
		{"double tenth", 0.1, "0.1"},
		{"double big", 1e20, "1e20"},
		{"double 1e16", 1e16, "1e16"},
		{"double 1e15", 1e15, "1e15"},
		{"double small", 1e-7, "1e-7"},
		{"double 0.0001", 0.0001, "0.0001"},
		{"double negative zero", math.Copysign(0, -1), "-0.0"},
		{"double fraction", 123456789.125, "123456789.125"},
		{"double tiny", 5e-324, "5e-324"},
		{"double inf", math.Inf(1), "float('inf')"},
		{"base64", []byte("ab"), "Binary(b'ab')"},
		{"base64 long", []byte(strings.Repeat("a", 100)), "Binary(b'a'*100)"},
		{"base64 empty", []byte{}, "Binary(b'')"},
		{"datetime", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "datetime.datetime(2026,1,2,3,4,5)"},
		{"empty array", []any{}, "[]"},
		{"array", []any{1, "x", true, []any{}}, "[1, 'x', True, []]"},
		{"string array", []string{"a", "b"}, "['a', 'b']"},
		{"int array", []int{0, 2}, "[0, 2]"},
		{"empty struct", Struct{}, "{}"},
		{"ordered struct", Struct{{"z", 1}, {"a<", "v"}, {"m", Struct{{"k", []any{}}}}}, "{'z': 1, 'a<': 'v', 'm': {'k': []}}"},
		{"map struct", map[string]any{"b": 2, "a": 1}, "{'a': 1, 'b': 2}"},
		{"process info shape", &processInfoValue{p: engine.ProcessStatus{Name: "cat", Group: "cat", Started: time.Unix(1<<40, 0), State: protocol.StateRunning, PID: 9}},
			"{'name':'cat','group':'cat','start':2**31-1,'stop':0,'now':0,'state':20,'statename':'RUNNING','spawnerr':'','exitstatus':0,'logfile':'','stdout_logfile':'','stderr_logfile':'','pid':9,'description':'pid 9, uptime 0:00:00'}"},
		{"process info list", &processInfoList{now: 7, procs: []engine.ProcessStatus{
			{Name: "a<&>", Group: "g", Started: time.Unix(5, 0), Stopped: time.Unix(-1<<40, 0), State: protocol.StateFatal, SpawnErr: "é", ExitStatus: -3,
				LogFiles: [2]string{"/l/o", "/l/e"}},
			{Name: "b", Group: "g", State: protocol.StateStopped}}},
			"[{'name':'a<&>','group':'g','start':5,'stop':-2**31,'now':7,'state':200,'statename':'FATAL','spawnerr':'\\u00e9','exitstatus':-3,'logfile':'/l/o','stdout_logfile':'/l/o','stderr_logfile':'/l/e','pid':0,'description':'\\u00e9'}," +
				"{'name':'b','group':'g','start':0,'stop':0,'now':7,'state':0,'statename':'STOPPED','spawnerr':'','exitstatus':0,'logfile':'','stdout_logfile':'','stderr_logfile':'','pid':0,'description':'Not started'}]"},
		{"empty process info list", &processInfoList{}, "[]"},
		{"process info in an array", []any{&processInfoValue{p: engine.ProcessStatus{Name: "x"}}, 1},
			"[{'name':'x','group':'','start':0,'stop':0,'now':0,'state':0,'statename':'STOPPED','spawnerr':'','exitstatus':0,'logfile':'','stdout_logfile':'','stderr_logfile':'','pid':0,'description':'Not started'}, 1]"},
	}
	exprs := make([]string, 0, len(cases)+2)
	for _, c := range cases {
		exprs = append(exprs, c.python)
	}
	exprs = append(exprs, "Fault(10, 'BAD_NAME: x<y')", "Fault(1, 'UNKNOWN_METHOD')")
	want := pythonDumps(t, exprs)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := EncodeResponse(c.value)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want[i] {
				t.Errorf("EncodeResponse(%#v)\n got %q\nwant %q", c.value, got, want[i])
			}
		})
	}
	for i, f := range []*Fault{NewFault(protocol.FaultBadName, "x<y"), NewFault(protocol.FaultUnknownMethod, "")} {
		if got := EncodeFault(f); string(got) != want[len(cases)+i] {
			t.Errorf("EncodeFault(%v)\n got %q\nwant %q", f, got, want[len(cases)+i])
		}
	}
}

func TestEncodeSanitizesInvalidXML(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"\x1b[31mred\x1b[0m", "\uFFFD[31mred\uFFFD[0m"},
		{"nul\x00byte", "nul\uFFFDbyte"},
		{"bad \xff\xfe utf8", "bad \uFFFD\uFFFD utf8"},
		{"cut \xe2\x98", "cut \uFFFD\uFFFD"},
		{"noncharacter \uFFFE", "noncharacter \uFFFD"},
		{"kept\ttab\nnl\u0085\u00e9\U0001F600", "kept\ttab\nnl\u0085\u00e9\U0001F600"},
	}
	for _, c := range cases {
		got, err := EncodeResponse(c.in)
		if err != nil {
			t.Fatal(err)
		}
		v, err := decodeResponse(got)
		if err != nil {
			t.Fatalf("%q: output does not parse: %v\n%s", c.in, err, got)
		}
		if v != c.want {
			t.Errorf("%q round-trips to %q, want %q", c.in, v, c.want)
		}
	}
}

func TestEncodeRejectsUnknownTypes(t *testing.T) {
	t.Parallel()
	for _, v := range []any{nil, struct{}{}, []any{1, nil}, Struct{{"x", nil}}, map[string]any{"x": uint8(1)}} {
		if _, err := EncodeResponse(v); err == nil {
			t.Errorf("EncodeResponse(%#v) succeeded", v)
		}
	}
}

func TestDecodeRequest(t *testing.T) {
	t.Parallel()
	wrap := func(values string) string {
		return "<?xml version='1.0'?>\n<methodCall>\n<methodName>m.x</methodName>\n<params>\n" + values + "</params>\n</methodCall>\n"
	}
	param := func(v string) string { return "<param>\n<value>" + v + "</value>\n</param>\n" }
	cases := []struct {
		name string
		body string
		want []any
	}{
		{"int", wrap(param("<int>42</int>")), []any{42}},
		{"i4 negative", wrap(param("<i4>-3</i4>")), []any{-3}},
		{"i8", wrap(param("<i8>8589934592</i8>")), []any{8589934592}},
		{"int with spaces", wrap(param("<int> 7 </int>")), []any{7}},
		{"boolean", wrap(param("<boolean>1</boolean>") + param("<boolean>0</boolean>")), []any{true, false}},
		{"string", wrap(param("<string>a &amp; b &lt;&gt; &#x263A;</string>")), []any{"a & b <> ☺"}},
		{"empty string", wrap(param("<string></string>") + param("<string/>")), []any{"", ""}},
		{"untyped", wrap(param("plain text")), []any{"plain text"}},
		{"untyped empty", wrap(param("")), []any{""}},
		{"whitespace around type", wrap(param("\n <int>5</int>\n ")), []any{5}},
		{"double", wrap(param("<double>-1.5e3</double>")), []any{-1500.0}},
		{"datetime", wrap(param("<dateTime.iso8601>20260102T03:04:05</dateTime.iso8601>")),
			[]any{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}},
		{"base64", wrap(param("<base64>\nYWJj\nZA==\n</base64>")), []any{[]byte("abcd")}},
		{"array", wrap(param("<array><data>\n<value><int>1</int></value>\n<value>x</value>\n</data></array>")), []any{[]any{1, "x"}}},
		{"empty array", wrap(param("<array><data></data></array>")), []any{[]any{}}},
		{"struct", wrap(param("<struct><member><name>a</name><value><int>1</int></value></member>" +
			"<member><value><string>v</string></value><name>b</name></member></struct>")),
			[]any{map[string]any{"a": 1, "b": "v"}}},
		{"nested", wrap(param("<array><data><value><struct><member><name>p</name><value><array><data><value><boolean>1</boolean></value></data></array></value></member></struct></value></data></array>")),
			[]any{[]any{map[string]any{"p": []any{true}}}}},
		{"nil", wrap(param("<nil/>")), []any{nil}},
		{"no params element", "<?xml version='1.0'?><methodCall><methodName>m.x</methodName></methodCall>", nil},
		{"empty params", wrap(""), []any{}},
		{"comment and no declaration", "<methodCall><!-- hi --><methodName>m.x</methodName><params/></methodCall>\n", []any{}},
		{"cdata", wrap(param("<string><![CDATA[a<b>&c]]></string>")), []any{"a<b>&c"}},
		{"attributes and spaces in tags", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><methodCall a='1' b = \"x&amp;y\" ><methodName >m.x</methodName ><params/></methodCall>", []any{}},
		{"line ends normalised", wrap(param("<string>a\r\nb\rc</string>")), []any{"a\nb\nc"}},
		{"referenced CR kept", wrap(param("<string>a&#13;&#10;b&#xD;</string>")), []any{"a\r\nb\r"}},
		{"all entities", wrap(param("<string>&quot;&apos;&lt;&gt;&amp;&#65;&#x42;</string>")), []any{"\"'<>&AB"}},
		{"prefixed names", wrap(param("<ex:nil/>")), []any{nil}},
		{"text around typed value", wrap(param("junk<int>3</int>")), []any{3}},
		{"trailing comment and pi", wrap("") + "<!-- end --><?pi x?>\n", []any{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method, params, err := DecodeRequest([]byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if method != "m.x" {
				t.Errorf("method %q", method)
			}
			if !reflect.DeepEqual(params, c.want) {
				t.Errorf("params %#v, want %#v", params, c.want)
			}
		})
	}
}

func TestDecodeRequestRejectsMalformed(t *testing.T) {
	t.Parallel()
	deep := "<methodCall><methodName>m.x</methodName><params><param><value>" +
		strings.Repeat("<array><data><value>", 100) + "1" + strings.Repeat("</value></data></array>", 100) +
		"</value></param></params></methodCall>"
	cases := map[string]string{
		"empty":            "",
		"not xml":          "hello",
		"truncated":        "<methodCall><methodName>m.x</methodName><params><param><value><int>1",
		"wrong root":       "<methodResponse><params/></methodResponse>",
		"no method name":   "<methodCall><params/></methodCall>",
		"bad int":          "<methodCall><methodName>m</methodName><params><param><value><int>x</int></value></param></params></methodCall>",
		"int overflow":     "<methodCall><methodName>m</methodName><params><param><value><int>99999999999999999999</int></value></param></params></methodCall>",
		"bad boolean":      "<methodCall><methodName>m</methodName><params><param><value><boolean>2</boolean></value></param></params></methodCall>",
		"bad double":       "<methodCall><methodName>m</methodName><params><param><value><double>x</double></value></param></params></methodCall>",
		"bad date":         "<methodCall><methodName>m</methodName><params><param><value><dateTime.iso8601>2026</dateTime.iso8601></value></param></params></methodCall>",
		"bad base64":       "<methodCall><methodName>m</methodName><params><param><value><base64>!!</base64></value></param></params></methodCall>",
		"unknown type":     "<methodCall><methodName>m</methodName><params><param><value><float>1</float></value></param></params></methodCall>",
		"member no value":  "<methodCall><methodName>m</methodName><params><param><value><struct><member><name>a</name></member></struct></value></param></params></methodCall>",
		"two values":       "<methodCall><methodName>m</methodName><params><param><value><int>1</int><int>2</int></value></param></params></methodCall>",
		"mismatched tags":  "<methodCall><methodName>m</methodName><params></param></methodCall>",
		"trailing element": "<methodCall><methodName>m</methodName></methodCall><x/>",
		"undefined entity": "<methodCall><methodName>&foo;</methodName></methodCall>",
		"entity expansion": `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>` +
			"<methodCall><methodName>&lol2;</methodName></methodCall>",
		"external entity": `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><methodCall><methodName>&e;</methodName></methodCall>`,
		"latin1 encoding": `<?xml version="1.0" encoding="iso-8859-1"?><methodCall><methodName>m</methodName></methodCall>`,
		"invalid utf8":    "<methodCall><methodName>m\xff</methodName></methodCall>",
		"too deep":        deep,
		"-- in comment":   "<methodCall><!-- a -- b --><methodName>m</methodName></methodCall>",
		"comment --->":    "<methodCall><methodName>m<!-----></methodName></methodCall>",
		"unterminated --": "<methodCall><methodName>m</methodName></methodCall><!-- x",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			if m, p, err := DecodeRequest([]byte(body)); err == nil {
				t.Errorf("accepted: method %q params %#v", m, p)
			}
		})
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte("<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.getState</methodName>\n<params>\n</params>\n</methodCall>\n"))
	f.Add([]byte("<methodCall><methodName>m</methodName><params><param><value><struct><member><name>a</name><value><array><data><value><i4>1</i4></value></data></array></value></member></struct></value></param></params></methodCall>"))
	f.Add([]byte("<methodCall><methodName>m</methodName><params><param><value><base64>YWI=</base64></value></param><param><value><dateTime.iso8601>20260102T03:04:05</dateTime.iso8601></value></param></params></methodCall>"))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><methodCall><methodName>&a;</methodName></methodCall>`))
	// Small versions of the bodies built to make decoding superlinear.
	for _, body := range costBodies(2 << 10) {
		f.Add(body)
	}
	d := newDispatcher(newFakeBackend(f), fakeNow, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		method, params, err := DecodeRequest(body)
		if err != nil {
			return
		}
		// What we accept is well-formed XML to the standard library too.
		if err := wellFormed(body); err != nil {
			t.Fatalf("accepted a body encoding/xml refuses (%v): %q", err, body)
		}
		// Whatever decodes must dispatch to a value or a fault, and
		// what it answers must encode.
		v, fault := d.call(t.Context(), method, params)
		if fault != nil {
			EncodeFault(fault)
			return
		}
		if _, err := EncodeResponse(v); err != nil {
			t.Fatalf("%s(%#v) answered an unencodable %#v: %v", method, params, v, err)
		}
	})
}

func wellFormed(body []byte) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// TestDecodeErrorsAreBounded: an error never quotes a huge request back.
func TestDecodeErrorsAreBounded(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 100000)
	for _, body := range []string{
		"<methodCall><methodName>m</methodName><params><param><value><int>" + huge + "</int></value></param></params></methodCall>",
		"<methodCall><" + huge + "/></methodCall>",
		"<methodCall><methodName>m</methodName><params><param><value><" + huge + ">1</" + huge + "></value></param></params></methodCall>",
		`<?xml version="1.0" encoding="` + huge + `"?><methodCall/>`,
	} {
		_, _, err := DecodeRequest([]byte(body))
		if err == nil || len(err.Error()) > 300 {
			t.Errorf("error of %d bytes: %.100v", len(fmt.Sprint(err)), err)
		}
	}
}
