// Package agentclient is the host side of the guest agent's protocol
// (package agentproto): it reaches an agent over a virtio-serial socket,
// Firecracker's hybrid vsock or AF_VSOCK, and asks it about the guest.
package agentclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

// Stream is a connected byte stream to an agent. net.Conn and *os.File
// are Streams.
type Stream interface {
	io.ReadWriteCloser
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// Conn is a connection to one agent. Its methods may be called from
// several goroutines; requests go one at a time.
type Conn struct {
	mu     sync.Mutex
	s      Stream
	br     *bufio.Reader
	nextID uint64
	// dirty: the stream may hold a half line (a fresh connection, or a
	// write cut short), so the next request starts with a newline.
	dirty bool
}

// NewConn speaks the protocol over s, which it owns from now on.
func NewConn(s Stream) *Conn { return newConn(s, bufio.NewReader(s)) }

func newConn(s Stream, br *bufio.Reader) *Conn {
	// Ids start at random so that a stale answer to an earlier connection,
	// still in the stream, cannot pass for an answer on this one; below
	// 2^53 so that any JSON reader holds them exactly.
	return &Conn{s: s, br: br, nextID: rand.Uint64N(1 << 52), dirty: true}
}

// Close closes the connection.
func (c *Conn) Close() error { return c.s.Close() }

// Hello asks the agent who it is.
func (c *Conn) Hello(ctx context.Context) (agentproto.Hello, error) {
	resp, err := c.call(ctx, agentproto.Request{Op: agentproto.OpHello})
	if err != nil {
		return agentproto.Hello{}, err
	}
	if resp.Hello == nil {
		return agentproto.Hello{}, fmt.Errorf("agent hello: answer without hello")
	}
	return *resp.Hello, nil
}

// Status asks for the guest's state now.
func (c *Conn) Status(ctx context.Context) (agentproto.Status, error) {
	resp, err := c.call(ctx, agentproto.Request{Op: agentproto.OpStatus})
	if err != nil {
		return agentproto.Status{}, err
	}
	if resp.Status == nil {
		return agentproto.Status{}, fmt.Errorf("agent status: answer without status")
	}
	return *resp.Status, nil
}

// WaitReady asks the agent to answer once the guest is ready, or after
// timeout. When the guest is still not ready it returns the last status
// with an Unavailable error carrying the reason.
func (c *Conn) WaitReady(ctx context.Context, timeout time.Duration) (agentproto.Status, error) {
	return statusOf(c.call(ctx, agentproto.Request{Op: agentproto.OpWaitReady, TimeoutMS: max(timeout.Milliseconds(), 0)}))
}

// statusOf is the status an answer carries, with the call's error; a
// successful answer without one is an error too.
func statusOf(resp agentproto.Response, err error) (agentproto.Status, error) {
	var st agentproto.Status
	if resp.Status != nil {
		st = *resp.Status
	}
	if err == nil && resp.Status == nil {
		err = errors.New("agent: an answer without the guest's status")
	}
	return st, err
}

// Identify gives a guest restored from a template its own identity and
// waits up to timeout for it to be ready under it, like WaitReady.
func (c *Conn) Identify(ctx context.Context, id agentproto.Identity, timeout time.Duration) (agentproto.Status, error) {
	return statusOf(c.call(ctx, agentproto.Request{Op: agentproto.OpIdentify, Identity: &id, TimeoutMS: max(timeout.Milliseconds(), 0)}))
}

// Shutdown asks the agent to power the guest off. It returns once the
// agent has agreed; the VMM exits when the guest is down.
func (c *Conn) Shutdown(ctx context.Context) error {
	_, err := c.call(ctx, agentproto.Request{Op: agentproto.OpShutdown})
	return err
}

// call sends req and returns its answer, skipping stale answers and lines
// that do not parse. A not-ok answer comes back with an error.
func (c *Conn) call(ctx context.Context, req agentproto.Request) (agentproto.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return agentproto.Response{}, c.ioError(ctx, req.Op, "sending the request", err)
	}
	c.nextID++
	if req.V == 0 {
		req.V = 1 // what every agent speaks; a hello asks for more
	}
	req.ID = c.nextID
	line, err := agentproto.MarshalLine(req)
	if err != nil {
		return agentproto.Response{}, fmt.Errorf("agent %s: encoding the request: %w", req.Op, err)
	}
	if c.dirty {
		line = append([]byte{'\n'}, line...)
	}
	stopR := bindDeadline(ctx, c.s.SetReadDeadline)
	defer stopR()
	stopW := bindDeadline(ctx, c.s.SetWriteDeadline)
	defer stopW()
	if _, err := c.s.Write(line); err != nil {
		c.dirty = true
		return agentproto.Response{}, c.ioError(ctx, req.Op, "sending the request", err)
	}
	c.dirty = false
	for {
		b, err := agentproto.ReadLine(c.br)
		if errors.Is(err, agentproto.ErrLineTooLong) || err == nil && len(b) == 0 {
			continue
		}
		if err != nil {
			return agentproto.Response{}, c.ioError(ctx, req.Op, "reading the answer", err)
		}
		var resp answer
		if json.Unmarshal(b, &resp) != nil || resp.ID != req.ID || resp.V == 0 || resp.Op != "" {
			continue // noise, a stale answer or an echo: resynchronising
		}
		if !resp.OK {
			return resp.Response, answerError(req.Op, resp.Response)
		}
		return resp.Response, nil
	}
}

// answer is a line from the agent. Op is set on a request, never on an
// answer: a line with one is a request echoed back by a terminal.
type answer struct {
	agentproto.Response
	Op string `json:"op"`
}

// ioError explains a failed read or write, naming ctx's end when that is
// what cut it short.
func (c *Conn) ioError(ctx context.Context, op, doing string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = ctxErr
	} else if _, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) {
		err = context.DeadlineExceeded // the stream's deadline is ctx's, a hair early
	}
	if errors.Is(err, io.EOF) {
		return errdefs.Unavailable("agent %s: %s: the connection closed (the guest may have stopped or restarted)", op, doing)
	}
	return errdefs.Wrap(errdefs.KindUnavailable, fmt.Errorf("agent %s: %s: %w", op, doing, err))
}

// answerError turns a not-ok answer into an error of the matching kind.
func answerError(op string, resp agentproto.Response) error {
	msg := resp.Error
	if msg == "" {
		msg = "failed without saying why"
	}
	switch resp.Code {
	case agentproto.CodeNotReady:
		return errdefs.Wrap(errdefs.KindUnavailable, &notReadyError{msg})
	case agentproto.CodeUnknownOp, agentproto.CodeUnsupportedVersion:
		return errdefs.FailedPrecondition("agent %s: %s", op, msg)
	case agentproto.CodeBadRequest:
		return errdefs.InvalidArgument("agent %s: %s", op, msg)
	case agentproto.CodeNotFound:
		return errdefs.NotFound("%s", msg)
	case agentproto.CodeExists:
		return errdefs.AlreadyExists("%s", msg)
	case agentproto.CodePrecondition:
		return errdefs.FailedPrecondition("%s", msg)
	}
	return fmt.Errorf("agent %s: %s", op, msg)
}

// ErrNotReady matches the error of a wait for readiness that ran out of
// time; it is also of kind errdefs.Unavailable.
var ErrNotReady = errors.New("guest not ready")

// notReadyError is the agent's account of why the guest is not ready.
type notReadyError struct{ msg string }

func (e *notReadyError) Error() string        { return "guest " + e.msg }
func (e *notReadyError) Is(target error) bool { return target == ErrNotReady }
