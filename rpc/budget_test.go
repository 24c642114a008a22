package rpc

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"gosupervisor/internal/protocol"
)

// TestMulticallResponseBounded: a multicall of many log reads answers one
// result per call, in the reference's shape, but stops reading once the
// encoded results would pass HandlerOptions.MaxMulticallResponse: the read that does
// not fit and every call after it (a clearProcessLogs among them, which
// must not run) are FAILED faults saying why. Text that grows when
// encoded (< becomes &lt;) counts as encoded. Reads outside a multicall,
// and multicalls that fit, are not limited.
func TestMulticallResponseBounded(t *testing.T) {
	t.Parallel()
	const logSize, limit = 64 << 10, 2 << 20
	for _, tc := range []struct {
		name   string
		fill   byte
		reads  int
		fitMin int // results that must fit, at least
	}{
		{"plain text", 'x', 40, limit/(logSize+100) - 1},
		{"text four times longer encoded", '<', 20, limit/(4*logSize+100) - 1},
		{"all fit", 'x', 8, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newFakeBackend(t)
			log := b.procs[0].info.LogFiles[protocol.Stdout]
			if err := os.WriteFile(log, bytes.Repeat([]byte{tc.fill}, logSize), 0o644); err != nil {
				t.Fatal(err)
			}
			srv := newTestServer(t, b, HandlerOptions{MaxMulticallResponse: limit})
			var calls []any
			for range tc.reads {
				calls = append(calls, map[string]any{"methodName": "supervisor.readProcessStdoutLog", "params": []any{"cat", 0, 0}})
			}
			calls = append(calls, map[string]any{"methodName": "supervisor.clearProcessLogs", "params": []any{"cat"}},
				map[string]any{"methodName": "supervisor.getPID"})
			resp, err := http.Post(srv.URL+"/RPC2", "text/xml", bytes.NewReader(encodeCall(t, "system.multicall", calls)))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(body) > limit+16<<10 {
				t.Errorf("response of %d bytes, want at most the limit (%d) and the faults' few bytes", len(body), limit)
			}
			v, err := decodeResponse(body)
			if err != nil {
				t.Fatal(err)
			}
			results, _ := v.([]any)
			if len(results) != len(calls) {
				t.Fatalf("%d results for %d calls", len(results), len(calls))
			}
			fit := 0
			for fit < len(results) {
				if s, ok := results[fit].(string); !ok || len(s) != logSize {
					break
				}
				fit++
			}
			if fit < tc.fitMin {
				t.Errorf("%d whole logs returned, want at least %d", fit, tc.fitMin)
			}
			if fit == tc.reads {
				if tc.fitMin != tc.reads {
					t.Fatalf("all %d reads answered: no limit", fit)
				}
				if show(results[fit:]) != "[true 777]" {
					t.Errorf("calls after reads that fit: %s", show(results[fit:]))
				}
				return
			}
			for i, r := range results[fit:] {
				m, _ := r.(map[string]any)
				if m["faultCode"] != int(protocol.FaultFailed) || !strings.HasPrefix(m["faultString"].(string), "FAILED: response too large: the results of one system.multicall are limited to 2 MiB; this call was not run") {
					t.Errorf("result %d: %s, want the limit's fault", fit+i, show(r))
				}
			}
			if st, err := os.Stat(log); err != nil || st.Size() != logSize {
				t.Errorf("clearProcessLogs after the limit ran: %v %v", st.Size(), err)
			}
			// One read on its own is not limited by the multicall bound.
			c := &rpcClient{t: t, url: srv.URL}
			one, err := c.call("supervisor.readProcessStdoutLog", "cat", 0, 0)
			if s, _ := one.(string); err != nil || len(s) != logSize {
				t.Errorf("a single read: %d bytes, %v", len(s), err)
			}
		})
	}
}
