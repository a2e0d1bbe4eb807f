package firecracker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Client speaks Firecracker's HTTP API on one process's API socket. Each
// call uses a fresh connection, so a Client needs no closing and survives
// the process it talks to being restarted.
type Client struct {
	socket string
	http   *http.Client
}

// NewClient returns a client for the API socket at path.
func NewClient(path string) *Client {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
	return &Client{
		socket: path,
		http: &http.Client{Transport: &http.Transport{
			DialContext:       dial,
			DisableKeepAlives: true,
		}},
	}
}

// APIError is a call that Firecracker answered with an error status. Fault
// is the fault_message of its body, verbatim.
type APIError struct {
	Method string
	Path   string
	Status int
	Fault  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("firecracker: %s %s: %d: %s", e.Method, e.Path, e.Status, e.Fault)
}

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 64 << 10

// do sends in (when not nil) as the JSON body of method path and decodes
// a successful answer's body into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("firecracker: %s %s: encoding the body: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	// Firecracker ignores the host; "localhost" is what its spec names.
	req, err := http.NewRequestWithContext(ctx, method, "http://localhost"+path, body)
	if err != nil {
		return fmt.Errorf("firecracker: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("firecracker: %s %s: %w", method, path, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Fault: faultOf(resp)}
	}
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("firecracker: %s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

// faultOf returns the fault_message of an error answer, or its raw body,
// or its status text when it has none.
func faultOf(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var e struct {
		FaultMessage string `json:"fault_message"`
	}
	if json.Unmarshal(b, &e) == nil && e.FaultMessage != "" {
		return e.FaultMessage
	}
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return http.StatusText(resp.StatusCode)
}

// unwrapURLError drops net/http's *url.Error wrapper, whose message
// repeats the method and the made-up URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
