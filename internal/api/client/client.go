// Package client talks to bangerd over its unix socket. The zero Client
// works: it finds the socket from the XDG environment and dials it directly.
// It never starts the daemon; that is daemonctl's job.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"time"

	"banger/internal/api"
	"banger/internal/paths"
	"banger/internal/progress"
	"banger/internal/version"
)

// ErrNotRunning reports that no daemon answers on the socket.
var ErrNotRunning = errors.New("bangerd is not running")

// VersionMismatchError reports a daemon of another build version. The daemon
// refused the request without acting on it.
type VersionMismatchError struct {
	Client, Daemon string
}

func (e *VersionMismatchError) Error() string {
	return fmt.Sprintf("bangerd is version %s, this banger is %s", e.Daemon, e.Client)
}

// Client is an API client. Its zero value is ready to use.
type Client struct {
	// Socket is the daemon's socket path; "" means the default location.
	Socket string
	// Version is sent in the version header; "" means this build's version.
	Version string
	// Dial connects to the socket; nil means a plain unix dial. Tests set it.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Timeout bounds each request; 0 means no bound beyond ctx.
	Timeout time.Duration
	// Warn, when set, receives the daemon's warning (such as an invalid
	// config.toml) with each answer that carries one: the caller decides
	// how often to show it.
	Warn func(string)

	http *http.Client
}

// SocketPath returns the socket the client dials.
func (c *Client) SocketPath() (string, error) {
	if c.Socket != "" {
		return c.Socket, nil
	}
	d, err := paths.Default()
	if err != nil {
		return "", err
	}
	return d.Socket(), nil
}

func (c *Client) httpClient(socket string) *http.Client {
	if c.http != nil {
		return c.http
	}
	dial := c.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	c.http = &http.Client{
		Timeout: c.Timeout,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dial(ctx, "unix", socket)
			},
			MaxIdleConns:    2,
			IdleConnTimeout: 30 * time.Second,
		},
	}
	return c.http
}

func (c *Client) version() string {
	if c.Version != "" {
		return c.Version
	}
	return version.Version
}

// Do sends a request with an optional JSON body and decodes a JSON answer
// into out (when out is non-nil).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return c.decode(resp, out)
}

// send performs a request and returns the raw response.
func (c *Client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	return c.sendHeader(ctx, method, path, in, nil)
}

// sendHeader is send with extra request headers.
func (c *Client) sendHeader(ctx context.Context, method, path string, in any, extra http.Header) (*http.Response, error) {
	socket, err := c.SocketPath()
	if err != nil {
		return nil, err
	}
	if c.Dial == nil && socketMissing(socket) {
		return nil, fmt.Errorf("%w (no answer on %s)", ErrNotRunning, socket)
	}
	body, err := marshalBody(in)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://bangerd"+api.Prefix+path, body)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set(api.VersionHeader, c.version())
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range extra {
		req.Header[k] = vs
	}
	resp, err := c.httpClient(socket).Do(req)
	if err != nil {
		if isNotRunning(err) {
			return nil, fmt.Errorf("%w (no answer on %s)", ErrNotRunning, socket)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("talking to bangerd at %s: %w", socket, err)
	}
	if msg := resp.Header.Get(api.ConfigWarningHeader); msg != "" && c.Warn != nil {
		c.Warn(msg)
	}
	return resp, nil
}

func (c *Client) decode(resp *http.Response, out any) error {
	if resp.StatusCode >= 300 {
		var e api.ErrorResponse
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error.Kind == "" {
			return fmt.Errorf("bangerd answered %s with no error body", resp.Status)
		}
		if e.Error.Kind == api.KindVersionMismatch {
			return &VersionMismatchError{Client: c.version(), Daemon: resp.Header.Get(api.VersionHeader)}
		}
		return e.Error.Err()
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding bangerd's answer: %w", err)
	}
	return nil
}

// socketMissing reports that no file is at socket, so that no daemon
// answers there: a command finds out without setting up a connection.
func socketMissing(socket string) bool {
	_, err := os.Lstat(socket)
	return errors.Is(err, fs.ErrNotExist)
}

// isNotRunning tells a missing or dead socket from other failures.
func isNotRunning(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)
}

// Daemon describes the running daemon.
func (c *Client) Daemon(ctx context.Context) (api.DaemonInfo, error) {
	var info api.DaemonInfo
	err := c.Do(ctx, http.MethodGet, "/daemon", nil, &info)
	return info, err
}

// Shutdown asks the daemon to exit. It answers before it stops.
func (c *Client) Shutdown(ctx context.Context) error {
	return c.Do(ctx, http.MethodPost, "/daemon/shutdown", nil, nil)
}

// ListVMs lists the VMs whose labels match every label term, each
// KEY=VALUE or KEY (any value); every VM for no terms.
func (c *Client) ListVMs(ctx context.Context, labels ...string) ([]api.VM, error) {
	path := "/vms"
	if len(labels) > 0 {
		path += "?" + url.Values{api.LabelQuery: labels}.Encode()
	}
	var vms []api.VM
	err := c.Do(ctx, http.MethodGet, path, nil, &vms)
	return vms, err
}

// GetVM returns one VM by name.
func (c *Client) GetVM(ctx context.Context, name string) (api.VM, error) {
	var vm api.VM
	err := c.Do(ctx, http.MethodGet, "/vms/"+url.PathEscape(name), nil, &vm)
	return vm, err
}

// CreateVM creates a VM and boots it, reporting progress. A VM that
// boots but never gets ready is kept: the error then has the unavailable
// kind and says how to inspect it.
func (c *Client) CreateVM(ctx context.Context, req api.CreateVMRequest, prog progress.Func) (api.VM, error) {
	var vm api.VM
	err := c.Stream(ctx, http.MethodPost, "/vms", req, prog, &vm)
	return vm, err
}

// StartVM boots a stopped VM.
func (c *Client) StartVM(ctx context.Context, name string, prog progress.Func) (api.VM, error) {
	var vm api.VM
	err := c.Stream(ctx, http.MethodPost, "/vms/"+url.PathEscape(name)+"/start", nil, prog, &vm)
	return vm, err
}

// RestartVM stops a VM and boots it again.
func (c *Client) RestartVM(ctx context.Context, name string, prog progress.Func) (api.VM, error) {
	var vm api.VM
	err := c.Stream(ctx, http.MethodPost, "/vms/"+url.PathEscape(name)+"/restart", nil, prog, &vm)
	return vm, err
}

// SuspendVM saves a running VM whole and stops its VMM; StartVM resumes
// it.
func (c *Client) SuspendVM(ctx context.Context, name string, prog progress.Func) (api.VM, error) {
	var vm api.VM
	err := c.Stream(ctx, http.MethodPost, "/vms/"+url.PathEscape(name)+"/suspend", nil, prog, &vm)
	return vm, err
}

// StopVM powers a VM off.
func (c *Client) StopVM(ctx context.Context, name string) (api.VM, error) {
	var vm api.VM
	err := c.Do(ctx, http.MethodPost, "/vms/"+url.PathEscape(name)+"/stop", nil, &vm)
	return vm, err
}

// DeleteVM removes a VM; force kills a running one.
func (c *Client) DeleteVM(ctx context.Context, name string, force bool) error {
	return c.Do(ctx, http.MethodDelete, "/vms/"+url.PathEscape(name)+"?force="+strconv.FormatBool(force), nil, nil)
}

// SetVMNetwork gives a VM another network policy; a running VM's rules
// change before it returns.
func (c *Client) SetVMNetwork(ctx context.Context, name string, req api.SetNetworkRequest) (api.VM, error) {
	var vm api.VM
	err := c.Do(ctx, http.MethodPut, "/vms/"+url.PathEscape(name)+"/network", req, &vm)
	return vm, err
}

// VMSSH returns how to reach a running VM with ssh.
func (c *Client) VMSSH(ctx context.Context, name string) (api.SSHTarget, error) {
	var t api.SSHTarget
	err := c.Do(ctx, http.MethodGet, "/vms/"+url.PathEscape(name)+"/ssh", nil, &t)
	return t, err
}

// VMLogs copies a VM's console log to w; follow keeps copying until the
// VM stops or ctx ends.
func (c *Client) VMLogs(ctx context.Context, name string, follow bool, w io.Writer) error {
	_, err := c.Download(ctx, "/vms/"+url.PathEscape(name)+"/logs?follow="+strconv.FormatBool(follow), w)
	return err
}

// ListSessions lists sessions, in one VM when vm is not "".
func (c *Client) ListSessions(ctx context.Context, vm string) ([]api.Session, error) {
	path := "/sessions"
	if vm != "" {
		path += "?vm=" + url.QueryEscape(vm)
	}
	var sessions []api.Session
	err := c.Do(ctx, http.MethodGet, path, nil, &sessions)
	return sessions, err
}
