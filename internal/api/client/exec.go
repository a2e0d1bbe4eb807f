package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"banger/internal/api"
)

// ProcessConn is a client's end of an exec or an attach: frames both ways
// over an upgraded connection (see api.UpgradeProtocol). Next is for one
// goroutine; the sending methods may be called from any.
type ProcessConn struct {
	rwc io.ReadWriteCloser
	br  *bufio.Reader
	w   *api.FrameWriter
}

// Exec runs a command in a running VM through its guest agent.
func (c *Client) Exec(ctx context.Context, vm string, req api.ExecRequest) (*ProcessConn, error) {
	return c.upgrade(ctx, "/vms/"+url.PathEscape(vm)+"/exec", req)
}

// AttachSession joins a session's terminal or streams; closing the
// connection detaches.
func (c *Client) AttachSession(ctx context.Context, vm, session string, req api.AttachRequest) (*ProcessConn, error) {
	return c.upgrade(ctx, "/vms/"+url.PathEscape(vm)+"/sessions/"+url.PathEscape(session)+"/attach", req)
}

// upgrade sends a POST that asks to switch the connection to frames.
func (c *Client) upgrade(ctx context.Context, path string, in any) (*ProcessConn, error) {
	resp, err := c.sendHeader(ctx, http.MethodPost, path, in, http.Header{
		"Connection": {"Upgrade"},
		"Upgrade":    {api.UpgradeProtocol},
	})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		if resp.StatusCode < 300 {
			return nil, fmt.Errorf("bangerd answered %s instead of switching to a stream", resp.Status)
		}
		return nil, c.decode(resp, nil)
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		return nil, fmt.Errorf("bangerd switched protocols but the connection is not writable")
	}
	return &ProcessConn{rwc: rwc, br: bufio.NewReader(rwc), w: api.NewFrameWriter(rwc)}, nil
}

// Stdin sends bytes to the command's input.
func (p *ProcessConn) Stdin(b []byte) error { return p.w.Write(api.FrameStdin, b) }

// CloseStdin ends the command's input.
func (p *ProcessConn) CloseStdin() error { return p.w.Write(api.FrameStdinEOF, nil) }

// Resize tells the command's terminal its new size.
func (p *ProcessConn) Resize(rows, cols uint16) error {
	return p.w.Write(api.FrameResize, api.ResizePayload(rows, cols))
}

// Signal sends a signal ("INT", "TERM") to the command's process group.
func (p *ProcessConn) Signal(sig string) error { return p.w.Write(api.FrameSignal, []byte(sig)) }

// Output is one frame from bangerd: output, or the end. Exactly one of
// Stdout, Stderr, Exit and File is set.
type Output struct {
	Stdout, Stderr []byte
	Exit           *api.ExitStatus
	// File is set by the file routes only.
	File *api.GuestFile
}

// Next waits for the next output. After the exit status it returns
// io.EOF; when the command's end cannot be known (the guest went away),
// an error saying so.
func (p *ProcessConn) Next() (Output, error) {
	kind, payload, err := api.ReadFrame(p.br)
	if err == io.EOF {
		return Output{}, fmt.Errorf("bangerd closed the connection before the command ended; see `banger daemon logs`")
	}
	if err != nil {
		return Output{}, fmt.Errorf("reading from bangerd: %w", err)
	}
	switch kind {
	case api.FrameStdout:
		return Output{Stdout: payload}, nil
	case api.FrameStderr:
		return Output{Stderr: payload}, nil
	case api.FrameExit:
		var st api.ExitStatus
		if err := json.Unmarshal(payload, &st); err != nil {
			return Output{}, fmt.Errorf("decoding the exit status: %w", err)
		}
		return Output{Exit: &st}, nil
	case api.FrameFile:
		var f api.GuestFile
		if err := json.Unmarshal(payload, &f); err != nil {
			return Output{}, fmt.Errorf("decoding bangerd's file: %w", err)
		}
		return Output{File: &f}, nil
	case api.FrameError:
		var e api.Error
		if err := json.Unmarshal(payload, &e); err != nil {
			return Output{}, fmt.Errorf("decoding bangerd's error: %w", err)
		}
		return Output{}, e.Err()
	}
	return Output{}, fmt.Errorf("unexpected frame %q from bangerd", byte(kind))
}

// Close ends the connection: an exec's command is hung up, an attach
// detaches.
func (p *ProcessConn) Close() error { return p.rwc.Close() }

// StartSession starts a session in a running VM.
func (c *Client) StartSession(ctx context.Context, vm string, req api.StartSessionRequest) (api.Session, error) {
	var s api.Session
	err := c.Do(ctx, http.MethodPost, "/vms/"+url.PathEscape(vm)+"/sessions", req, &s)
	return s, err
}

// KillSession signals a running session, or forgets an ended one.
func (c *Client) KillSession(ctx context.Context, vm, session, signal string) (api.Session, error) {
	var s api.Session
	err := c.Do(ctx, http.MethodPost, "/vms/"+url.PathEscape(vm)+"/sessions/"+url.PathEscape(session)+"/kill", api.KillSessionRequest{Signal: signal}, &s)
	return s, err
}

// SessionLogs copies a session's kept output to w; follow keeps copying
// until the session ends or ctx does.
func (c *Client) SessionLogs(ctx context.Context, vm, session string, follow bool, w io.Writer) error {
	_, err := c.Download(ctx, "/vms/"+url.PathEscape(vm)+"/sessions/"+url.PathEscape(session)+"/logs?follow="+strconv.FormatBool(follow), w)
	return err
}

// GuestInfo asks a running VM's guest agent about the guest.
func (c *Client) GuestInfo(ctx context.Context, vm string) (api.GuestInfo, error) {
	var g api.GuestInfo
	err := c.Do(ctx, http.MethodGet, "/vms/"+url.PathEscape(vm)+"/guest", nil, &g)
	return g, err
}
