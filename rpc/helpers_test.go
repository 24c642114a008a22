package rpc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"gosupervisor/internal/protocol"
)

// encodeCall builds a methodCall document as Python's client does.
func encodeCall(t testing.TB, method string, params ...any) []byte {
	t.Helper()
	buf := []byte("<?xml version='1.0'?>\n<methodCall>\n<methodName>" + method + "</methodName>\n<params>\n")
	for _, p := range params {
		buf = append(buf, "<param>\n"...)
		var err error
		if buf, err = appendValue(buf, p); err != nil {
			t.Fatal(err)
		}
		buf = append(buf, "</param>\n"...)
	}
	return append(buf, "</params>\n</methodCall>\n"...)
}

// decodeResponse parses a methodResponse with the request parser's value
// rules; a fault comes back as *Fault.
func decodeResponse(body []byte) (any, error) {
	p := &parser{s: scanner{src: body}}
	if err := p.expectStart("methodResponse"); err != nil {
		return nil, err
	}
	tok, err := p.next()
	if err != nil {
		return nil, err
	}
	if tok.kind != tokStart {
		return nil, errors.New("empty methodResponse")
	}
	switch string(tok.name) {
	case "params":
		if err := p.expectStart("param"); err != nil {
			return nil, err
		}
		if err := p.expectStart("value"); err != nil {
			return nil, err
		}
		return p.value(0)
	case "fault":
		if err := p.expectStart("value"); err != nil {
			return nil, err
		}
		v, err := p.value(0)
		if err != nil {
			return nil, err
		}
		m, _ := v.(map[string]any)
		code, _ := m["faultCode"].(int)
		text, _ := m["faultString"].(string)
		return nil, &Fault{Code: protocol.FaultCode(code), String: text}
	}
	return nil, fmt.Errorf("unexpected %s", describe(tok))
}

// rpcClient posts calls to a handler's URL.
type rpcClient struct {
	t          testing.TB
	url        string
	user, pass string
	http       *http.Client
}

func (c *rpcClient) call(method string, params ...any) (any, error) {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.url+"/RPC2", bytes.NewReader(encodeCall(c.t, method, params...)))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	req.Header.Set("Content-Type", "text/xml")
	hc := c.http
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		c.t.Fatalf("%s: HTTP %d: %s", method, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/xml" {
		c.t.Fatalf("%s: Content-Type %q", method, ct)
	}
	return decodeResponse(body)
}

// faultCode returns the code of a *Fault error, 0 for nil, -1 otherwise.
func faultCode(err error) protocol.FaultCode {
	if err == nil {
		return 0
	}
	var f *Fault
	if errors.As(err, &f) {
		return f.Code
	}
	return -1
}

// show renders a decoded value compactly for comparisons.
func show(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = show(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case map[string]any:
		return fmt.Sprintf("%v", x)
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprint(v)
}
