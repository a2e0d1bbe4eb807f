package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// qmpClient speaks QEMU's machine protocol over its unix socket: JSON
// objects, one a line. Asynchronous events are read and dropped.
type qmpClient struct {
	conn net.Conn
	dec  *json.Decoder
}

// qmpError is an {"error": ...} reply.
type qmpError struct {
	Class string `json:"class"`
	Desc  string `json:"desc"`
}

func (e *qmpError) Error() string { return e.Class + ": " + e.Desc }

// qmpReply is any message QEMU sends.
type qmpReply struct {
	QMP    json.RawMessage `json:"QMP"`
	Event  string          `json:"event"`
	Return json.RawMessage `json:"return"`
	Error  *qmpError       `json:"error"`
}

// dialQMP connects to the socket at path, reads the greeting and leaves
// capability negotiation mode.
func dialQMP(ctx context.Context, path string) (*qmpClient, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("connecting to QMP at %s: %w", path, err)
	}
	c := &qmpClient{conn: conn, dec: json.NewDecoder(bufio.NewReader(conn))}
	if err := c.handshake(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("QMP handshake at %s: %w", path, err)
	}
	return c, nil
}

func (c *qmpClient) handshake(ctx context.Context) error {
	c.setDeadline(ctx)
	var greeting qmpReply
	if err := c.dec.Decode(&greeting); err != nil {
		return fmt.Errorf("reading greeting: %w", err)
	}
	if greeting.QMP == nil {
		return errors.New("no QMP greeting")
	}
	_, err := c.execute(ctx, "qmp_capabilities")
	return err
}

// setDeadline bounds the next reads and writes by ctx's deadline, if any.
func (c *qmpClient) setDeadline(ctx context.Context) {
	deadline, _ := ctx.Deadline() // zero: none
	c.conn.SetDeadline(deadline)
}

func (c *qmpClient) Close() error { return c.conn.Close() }

// execute runs command and returns its "return" value.
func (c *qmpClient) execute(ctx context.Context, command string) (json.RawMessage, error) {
	return c.executeArgs(ctx, command, nil)
}

// executeArgs runs command with arguments (none when nil).
func (c *qmpClient) executeArgs(ctx context.Context, command string, args map[string]any) (json.RawMessage, error) {
	c.setDeadline(ctx)
	// Unblock reads when ctx is cancelled without a deadline.
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	msg := map[string]any{"execute": command}
	if args != nil {
		msg["arguments"] = args
	}
	req, _ := json.Marshal(msg)
	if _, err := c.conn.Write(append(req, '\n')); err != nil {
		return nil, c.ctxErr(ctx, fmt.Errorf("sending %s: %w", command, err))
	}
	for {
		var r qmpReply
		if err := c.dec.Decode(&r); err != nil {
			return nil, c.ctxErr(ctx, fmt.Errorf("reading reply to %s: %w", command, err))
		}
		switch {
		case r.Event != "":
			continue
		case r.Error != nil:
			return nil, fmt.Errorf("%s: %w", command, r.Error)
		case r.Return != nil:
			return r.Return, nil
		}
	}
}

// ctxErr prefers ctx's error to the I/O error it caused.
func (c *qmpClient) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

// queryStatus returns the VM's run state: "running", "paused", ...
func (c *qmpClient) queryStatus(ctx context.Context) (string, error) {
	raw, err := c.execute(ctx, "query-status")
	if err != nil {
		return "", err
	}
	var st struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return "", fmt.Errorf("query-status: %w", err)
	}
	return st.Status, nil
}

// qmpCommand connects, runs one command and hangs up.
func qmpCommand(ctx context.Context, path, command string) (json.RawMessage, error) {
	c, err := dialQMP(ctx, path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.execute(ctx, command)
}

// qmpStatus connects and runs query-status.
func qmpStatus(ctx context.Context, path string) (string, error) {
	c, err := dialQMP(ctx, path)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.queryStatus(ctx)
}
