package ctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kolo/xmlrpc"

	"gosupervisor/internal/protocol"
	"gosupervisor/internal/pyrepr"
)

// Fault is an XML-RPC fault answered by supervisord.
type Fault struct {
	Code   protocol.FaultCode
	String string
}

// Error renders the fault as Python's repr of xmlrpc.client.Fault.
func (f *Fault) Error() string { return fmt.Sprintf("<Fault %d: %s>", f.Code, pyrepr.Str(f.String)) }

// asFault returns err's Fault, if it is one.
func asFault(err error) (*Fault, bool) {
	var f *Fault
	ok := errors.As(err, &f)
	return f, ok
}

// ProtocolError is a non-200 HTTP answer to an XML-RPC call.
type ProtocolError struct {
	Status int
	Reason string
}

// Error renders the error as Python's repr of xmlrpc.client.ProtocolError.
func (e *ProtocolError) Error() string {
	return fmt.Sprintf("<ProtocolError for 127.0.0.1/RPC2: %d %s>", e.Status, e.Reason)
}

// errUnknownProtocol is returned for a serverurl that is neither http://
// nor unix://.
type errUnknownProtocol struct{ serverURL string }

func (e errUnknownProtocol) Error() string {
	return "Unknown protocol for serverurl " + e.serverURL
}

// rpcClient speaks XML-RPC to one supervisord over HTTP or a unix socket,
// reusing one persistent connection as the Python client does.
type rpcClient struct {
	serverURL          string
	username, password string
	endpoint           string // http URL the requests are posted to
	http               *http.Client
}

// newRPCClient prepares a client for serverURL ("http://host:port" or
// "unix:///path"). It does not connect.
func newRPCClient(serverURL, username, password string) (*rpcClient, error) {
	transport := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
	var endpoint string
	switch {
	case strings.HasPrefix(serverURL, "http://"):
		u, err := url.Parse(serverURL)
		if err != nil {
			return nil, fmt.Errorf("serverurl %q: %w", serverURL, err)
		}
		endpoint = "http://" + u.Host + "/RPC2"
	case strings.HasPrefix(serverURL, "unix://"):
		sock := serverURL[len("unix://"):]
		transport.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}
		// The socket path may be too long for a host name: name the host
		// localhost, as the reference does.
		endpoint = "http://localhost/RPC2"
	default:
		return nil, errUnknownProtocol{serverURL}
	}
	return &rpcClient{
		serverURL: serverURL,
		username:  username,
		password:  password,
		endpoint:  endpoint,
		http:      &http.Client{Transport: transport},
	}, nil
}

// close drops the idle connection.
func (c *rpcClient) close() {
	c.http.CloseIdleConnections()
}

// call invokes method with args and decodes the answer into result (a
// pointer, or nil to discard it). Errors are *Fault, *ProtocolError or
// transport errors (wrapping syscall errnos).
func (c *rpcClient) call(ctx context.Context, method string, result any, args ...any) error {
	body, err := xmlrpc.EncodeMethodCall(method, args...)
	if err != nil {
		return fmt.Errorf("encode %s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("Accept", "text/xml")
	req.Header.Set("User-Agent", "supervisorctl (gosupervisor)")
	if c.username != "" || c.password != "" {
		req.SetBasicAuth(c.username, c.password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return unwrapURLError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return &ProtocolError{Status: resp.StatusCode, Reason: reasonPhrase(resp)}
	}
	if err != nil {
		return fmt.Errorf("read %s response: %w", method, err)
	}
	r := xmlrpc.Response(data)
	if ferr := r.Err(); ferr != nil {
		var fe xmlrpc.FaultError
		if errors.As(ferr, &fe) {
			return &Fault{Code: protocol.FaultCode(fe.Code), String: fe.String}
		}
		return fmt.Errorf("decode %s fault: %w", method, ferr)
	}
	if result == nil {
		return nil
	}
	if err := r.Unmarshal(result); err != nil {
		return fmt.Errorf("decode %s response: %w", method, err)
	}
	return nil
}

// stream issues a GET for path (/logtail/..., /mainlogtail) and returns
// the response; the caller closes its body. Auth is sent only with a
// password, as the reference's streaming client does.
func (c *rpcClient) stream(ctx context.Context, path string) (*http.Response, error) {
	base := strings.TrimSuffix(c.endpoint, "/RPC2")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", path, err)
	}
	if c.password != "" {
		req.SetBasicAuth(c.username, c.password)
	}
	// A stream has no deadline: it lasts until the user interrupts it.
	client := &http.Client{Transport: c.http.Transport, Timeout: time.Duration(0)}
	resp, err := client.Do(req)
	if err != nil {
		return nil, unwrapURLError(err)
	}
	return resp, nil
}

// unwrapURLError drops net/http's *url.Error wrapper so callers match on
// the transport's own error.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// reasonPhrase is the status line's reason ("Unauthorized").
func reasonPhrase(resp *http.Response) string {
	if _, reason, ok := strings.Cut(resp.Status, " "); ok {
		return reason
	}
	return http.StatusText(resp.StatusCode)
}

// processInfo is the struct getProcessInfo and getAllProcessInfo return
// (only the fields supervisorctl reads).
type processInfo struct {
	Name        string                `xmlrpc:"name"`
	Group       string                `xmlrpc:"group"`
	State       protocol.ProcessState `xmlrpc:"state"`
	StateName   string                `xmlrpc:"statename"`
	Description string                `xmlrpc:"description"`
	PID         int                   `xmlrpc:"pid"`
}

// callResult is one entry of a group or "all" call's result list.
type callResult struct {
	Name        string             `xmlrpc:"name"`
	Group       string             `xmlrpc:"group"`
	Status      protocol.FaultCode `xmlrpc:"status"`
	Description string             `xmlrpc:"description"`
}

// configInfo is one entry of getAllConfigInfo.
type configInfo struct {
	Name        string `xmlrpc:"name"`
	Group       string `xmlrpc:"group"`
	InUse       bool   `xmlrpc:"inuse"`
	Autostart   bool   `xmlrpc:"autostart"`
	GroupPrio   int    `xmlrpc:"group_prio"`
	ProcessPrio int    `xmlrpc:"process_prio"`
}
