package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"banger/internal/agent/agentproto"
	"banger/internal/api"
	"banger/internal/errdefs"
)

// copyChunk is the size of the input frames of a copy-in.
const copyChunk = 32 << 10

// maxCopyMessage bounds the reason a failed copy keeps.
const maxCopyMessage = 16 << 10

// CopyIn sends the tar stream read from r to the guest path dest of
// running VM vm, whose agent extracts it there (see package tarcopy).
// An error reading r stops the copy and is returned as it is.
func (c *Client) CopyIn(ctx context.Context, vm, dest string, r io.Reader) error {
	p, err := c.upgrade(ctx, "/vms/"+url.PathEscape(vm)+"/copy-in", api.CopyRequest{Path: dest})
	if err != nil {
		return err
	}
	defer p.Close()
	stop := context.AfterFunc(ctx, func() { p.Close() })
	defer stop()
	sent := make(chan error, 1)
	go func() { sent <- p.sendAll(r) }()
	err = p.awaitCopy(vm, nil)
	p.Close() // a sender still waiting on bangerd gives up
	if se, ok := errors.AsType[*sourceError](<-sent); ok {
		return se.err
	}
	return ctxErr(ctx, err)
}

// CopyOut writes the tar stream of the guest path src of running VM vm
// to w. An error writing to w stops the copy and is returned as it is.
func (c *Client) CopyOut(ctx context.Context, vm, src string, w io.Writer) error {
	p, err := c.upgrade(ctx, "/vms/"+url.PathEscape(vm)+"/copy-out", api.CopyRequest{Path: src})
	if err != nil {
		return err
	}
	defer p.Close()
	stop := context.AfterFunc(ctx, func() { p.Close() })
	defer stop()
	return ctxErr(ctx, p.awaitCopy(vm, func(b []byte) error {
		_, err := w.Write(b)
		return err
	}))
}

func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// sourceError is a failure to read a copy-in's stream.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }

// sendAll sends r as input frames, then the end of input. A failure to
// read r ends the connection, which abandons the copy in the guest.
func (p *ProcessConn) sendAll(r io.Reader) error {
	buf := make([]byte, copyChunk)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if werr := p.Stdin(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return p.CloseStdin()
		}
		if err != nil {
			p.Close()
			return &sourceError{err}
		}
	}
}

// awaitCopy reads a copy's frames to its exit status, handing output to
// out, and turns a failed status into an error of its kind.
func (p *ProcessConn) awaitCopy(vm string, out func([]byte) error) error {
	var msg bytes.Buffer
	for {
		o, err := p.Next()
		if err != nil {
			return err
		}
		switch {
		case o.Stdout != nil && out != nil:
			if err := out(o.Stdout); err != nil {
				return err
			}
		case o.Stderr != nil && msg.Len() < maxCopyMessage:
			msg.Write(o.Stderr)
		case o.Exit != nil:
			return copyStatus(vm, o.Exit.Code, msg.String())
		}
	}
}

// copyStatus is the error of a copy that ended with code.
func copyStatus(vm string, code int, msg string) error {
	if code == 0 {
		return nil
	}
	msg = strings.TrimSpace(msg)
	if msg == "" {
		msg = fmt.Sprintf("the guest agent ended the copy with status %d", code)
	}
	if kind, ok := agentproto.CopyKinds[code]; ok {
		return errdefs.New(kind, "in VM %s: %s", vm, msg)
	}
	return fmt.Errorf("in VM %s: %s", vm, msg)
}
