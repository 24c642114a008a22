package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/kolo/xmlrpc"

	"gosupervisor/internal/protocol"
)

// ProcessInfo is the part of getProcessInfo's struct the scenarios read.
type ProcessInfo struct {
	Name      string                `xmlrpc:"name"`
	Group     string                `xmlrpc:"group"`
	State     protocol.ProcessState `xmlrpc:"state"`
	StateName string                `xmlrpc:"statename"`
	PID       int                   `xmlrpc:"pid"`
}

// Client is an XML-RPC client of one daemon's unix socket. Calls on one
// Client are serialized (kolo/xmlrpc sends one request at a time), so
// concurrent load uses one Client per worker.
type Client struct {
	rpc       *xmlrpc.Client
	transport *http.Transport
}

// rpcTimeout bounds one call; stopAllProcesses on 500 programs under the
// reference takes a while.
const rpcTimeout = time.Minute

// NewClient returns a client of the supervisord listening on socket.
func NewClient(socket string) (*Client, error) { return newClient(socket, rpcTimeout) }

// newClient returns a client whose calls give up after timeout.
func newClient(socket string, timeout time.Duration) (*Client, error) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   1,
	}
	c, err := xmlrpc.NewClient("http://localhost/RPC2", tr)
	if err != nil {
		return nil, fmt.Errorf("xmlrpc client for %s: %w", socket, err)
	}
	return &Client{rpc: c, transport: tr}, nil
}

// Close drops the client's connections.
func (c *Client) Close() error { return c.rpc.Close() }

func (c *Client) call(method string, args, reply any) error {
	if err := c.rpc.Call(method, args, reply); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	return nil
}

// GetState returns supervisord's state name (RUNNING once it serves).
func (c *Client) GetState() (string, error) {
	var st struct {
		Code int    `xmlrpc:"statecode"`
		Name string `xmlrpc:"statename"`
	}
	err := c.call("supervisor.getState", nil, &st)
	return st.Name, err
}

// GetProcessInfo returns one process's info.
func (c *Client) GetProcessInfo(name string) (ProcessInfo, error) {
	var info ProcessInfo
	err := c.call("supervisor.getProcessInfo", name, &info)
	return info, err
}

// GetAllProcessInfo returns every process's info.
func (c *Client) GetAllProcessInfo() ([]ProcessInfo, error) {
	var infos []ProcessInfo
	err := c.call("supervisor.getAllProcessInfo", nil, &infos)
	return infos, err
}

// TimedGetAllProcessInfo is GetAllProcessInfo that also says how long
// the daemon took to answer: from sending the request to the last byte
// of the response. The response is decoded only after that: kolo/xmlrpc
// decodes by reflection over encoding/xml, tens of milliseconds for 500
// processes, and that is the client's time, not the daemon's.
func (c *Client) TimedGetAllProcessInfo() ([]ProcessInfo, time.Duration, error) {
	const method = "supervisor.getAllProcessInfo"
	req, err := xmlrpc.NewRequest("http://localhost/RPC2", method, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", method, err)
	}
	t0 := time.Now()
	resp, err := c.transport.RoundTrip(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", method, err)
	}
	body, err := io.ReadAll(resp.Body)
	took := time.Since(t0)
	resp.Body.Close()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("%s: HTTP %s", method, resp.Status)
	}
	r := xmlrpc.Response(body)
	if err := r.Err(); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", method, err)
	}
	var infos []ProcessInfo
	if err := r.Unmarshal(&infos); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", method, err)
	}
	return infos, took, nil
}

// StartProcess starts name, waiting for RUNNING when wait is set.
func (c *Client) StartProcess(name string, wait bool) error {
	var ok bool
	return c.call("supervisor.startProcess", []any{name, wait}, &ok)
}

// StopAllProcesses stops everything and returns how many results came
// back and how many of them were not a success.
func (c *Client) StopAllProcesses(wait bool) (results, failed int, err error) {
	var rs []struct {
		Name   string             `xmlrpc:"name"`
		Status protocol.FaultCode `xmlrpc:"status"`
	}
	if err := c.call("supervisor.stopAllProcesses", wait, &rs); err != nil {
		return 0, 0, err
	}
	for _, r := range rs {
		if r.Status != protocol.FaultSuccess {
			failed++
		}
	}
	return len(rs), failed, nil
}

// countStates counts infos per state.
func countStates(infos []ProcessInfo) map[protocol.ProcessState]int {
	n := map[protocol.ProcessState]int{}
	for _, i := range infos {
		n[i.State]++
	}
	return n
}
