package soak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/kolo/xmlrpc"

	"gosupervisor/internal/protocol"
)

// ProcessInfo is the part of getProcessInfo's struct the test reads.
type ProcessInfo struct {
	Name        string                `xmlrpc:"name"`
	Group       string                `xmlrpc:"group"`
	State       protocol.ProcessState `xmlrpc:"state"`
	StateName   string                `xmlrpc:"statename"`
	PID         int                   `xmlrpc:"pid"`
	Description string                `xmlrpc:"description"`
}

// FullName is the process's namespec, group:name.
func (p ProcessInfo) FullName() string { return p.Group + ":" + p.Name }

// ConfigInfo is the part of getAllConfigInfo's struct the test reads.
type ConfigInfo struct {
	Name    string `xmlrpc:"name"`
	Group   string `xmlrpc:"group"`
	Command string `xmlrpc:"command"`
}

// CallResult is one entry of a group call's result list.
type CallResult struct {
	Name        string             `xmlrpc:"name"`
	Group       string             `xmlrpc:"group"`
	Status      protocol.FaultCode `xmlrpc:"status"`
	Description string             `xmlrpc:"description"`
}

// RPCClient calls XML-RPC methods over a daemon's unix socket. It is safe
// for concurrent use; connections are pooled and reused.
type RPCClient struct {
	transport *http.Transport
	http      *http.Client
}

// NewRPCClient returns a client of the daemon listening on socket whose
// calls give up after timeout; idle bounds the pooled connections.
func NewRPCClient(socket string, timeout time.Duration, idle int) *RPCClient {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConnsPerHost: idle,
	}
	return &RPCClient{transport: tr, http: &http.Client{Transport: tr, Timeout: timeout}}
}

// CloseIdle closes the pooled connections, so the daemon's descriptor
// count no longer includes them.
func (c *RPCClient) CloseIdle() { c.transport.CloseIdleConnections() }

// Call invokes method with args and decodes the result into reply (nil
// discards it). A fault comes back as an error holding xmlrpc.FaultError
// (see FaultCode).
func (c *RPCClient) Call(ctx context.Context, method string, reply any, args ...any) error {
	body, err := xmlrpc.EncodeMethodCall(method, args...)
	if err != nil {
		return fmt.Errorf("%s: encode: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://localhost/RPC2", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %s", method, resp.Status)
	}
	answer := xmlrpc.Response(data)
	if err := answer.Err(); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	if reply == nil {
		return nil
	}
	if err := answer.Unmarshal(reply); err != nil {
		return fmt.Errorf("%s: decode answer: %w", method, err)
	}
	return nil
}

// FaultCode returns the XML-RPC fault code held by err, or 0 when err is
// not a fault.
func FaultCode(err error) protocol.FaultCode {
	var f xmlrpc.FaultError
	if errors.As(err, &f) {
		return protocol.FaultCode(f.Code)
	}
	return 0
}
