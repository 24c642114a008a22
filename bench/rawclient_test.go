package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeRPC serves XML-RPC on a unix socket: supervisor.getState answers,
// any other method is a fault, and /broken is an HTTP error.
func fakeRPC(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/xml")
		if strings.Contains(string(body), "<methodName>supervisor.getState</methodName>") {
			io.WriteString(w, "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><struct>\n"+
				"<member>\n<name>statecode</name>\n<value><int>1</int></value>\n</member>\n"+
				"<member>\n<name>statename</name>\n<value><string>RUNNING</string></value>\n</member>\n"+
				"</struct></value>\n</param>\n</params>\n</methodResponse>\n")
			return
		}
		io.WriteString(w, "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n"+
			"<member>\n<name>faultCode</name>\n<value><int>1</int></value>\n</member>\n"+
			"<member>\n<name>faultString</name>\n<value><string>UNKNOWN_METHOD</string></value>\n</member>\n"+
			"</struct></value>\n</fault>\n</methodResponse>\n")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func TestRawClientCallsAndFaults(t *testing.T) {
	sock := fakeRPC(t)
	tests := []struct {
		method  string
		wantErr string
	}{
		{"supervisor.getState", ""},
		{"supervisor.nosuch", "fault"},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			c, err := dialRaw(sock, tt.method, "a<b")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for range 3 { // one keep-alive connection, several calls
				err := c.call()
				if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
					t.Fatalf("call = %v, want error containing %q", err, tt.wantErr)
				}
			}
		})
	}
	rate, err := rawRate(context.Background(), sock, 2, 100*time.Millisecond, "supervisor.getState")
	if err != nil || rate <= 0 {
		t.Fatalf("rawRate = %v, %v; want a positive rate", rate, err)
	}
}

func TestPythonClients(t *testing.T) {
	sock := fakeRPC(t)
	tests := []struct {
		name    string
		calls   []string
		wantErr bool
	}{
		{"one method", []string{"supervisor.getState"}, false},
		{"alternating", []string{"supervisor.getState", "supervisor.getState:p"}, false},
		{"fault", []string{"supervisor.getState", "supervisor.nosuch"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := runPythonClients(context.Background(), sock, 2, 200*time.Millisecond, nil, tt.calls...)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("runPythonClients = %+v, want an error", res)
				}
				return
			}
			if err != nil || res.Rate <= 0 || res.Calls == 0 || len(res.Latency) != res.Calls {
				t.Fatalf("runPythonClients = %d calls, %v/s, %d latencies, %v; want calls, each timed", res.Calls, res.Rate, len(res.Latency), err)
			}
			if m := Median(res.Latency); m <= 0 || m > 1000 {
				t.Errorf("median latency %v ms", m)
			}
		})
	}
}
