package agentclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"banger/internal/agent/agentproto"
	"banger/internal/ctxtime"
	"banger/internal/errdefs"
)

// The kinds of Endpoint.
const (
	// KindSerial: Path is the unix socket of a QEMU chardev backing the
	// guest's virtio-serial port.
	KindSerial = "serial"
	// KindHybridVsock: Path is Firecracker's vsock unix socket; Port is
	// the guest's vsock port.
	KindHybridVsock = "hybrid-vsock"
	// KindVsock: the guest is at CID on AF_VSOCK (vhost-vsock), port Port.
	KindVsock = "vsock"
)

// attemptTimeout bounds one connection attempt, so that a hung one does not
// use up the caller's whole deadline.
const attemptTimeout = 2 * time.Second

// Endpoint says how to reach one guest's agent.
type Endpoint struct {
	Kind string
	Path string
	CID  uint32
	// Port is the guest's vsock port; 0 means agentproto.VsockPort.
	Port uint32
}

func (ep Endpoint) port() uint32 {
	if ep.Port == 0 {
		return agentproto.VsockPort
	}
	return ep.Port
}

// String names the endpoint in errors.
func (ep Endpoint) String() string {
	switch ep.Kind {
	case KindSerial:
		return "virtio-serial socket " + ep.Path
	case KindHybridVsock:
		return fmt.Sprintf("vsock socket %s port %d", ep.Path, ep.port())
	case KindVsock:
		return fmt.Sprintf("vsock %d:%d", ep.CID, ep.port())
	}
	return fmt.Sprintf("endpoint %q", ep.Kind)
}

func (ep Endpoint) validate() error {
	switch ep.Kind {
	case KindSerial, KindHybridVsock:
		if ep.Path == "" {
			return errdefs.InvalidArgument("agent endpoint %s: no socket path", ep.Kind)
		}
	case KindVsock:
		if ep.CID < 3 {
			return errdefs.InvalidArgument("agent endpoint vsock: CID %d is not a guest's (guests have 3 and up)", ep.CID)
		}
	default:
		return errdefs.InvalidArgument("agent endpoint kind %q: want %s, %s or %s", ep.Kind, KindSerial, KindHybridVsock, KindVsock)
	}
	return nil
}

// Dial connects to the agent at ep, retrying while the socket is missing
// or refuses (the VM is still starting) until ctx ends. It does not talk
// to the agent: on a serial socket a connection succeeds as soon as the
// VMM runs, whether or not the agent is up. A serial socket carries one
// host connection at a time (QEMU queues the next until the first
// closes), so close a Conn when done with it.
func Dial(ctx context.Context, ep Endpoint) (*Conn, error) {
	if err := ep.validate(); err != nil {
		return nil, err
	}
	wait := 20 * time.Millisecond
	for {
		c, err := dialOnce(ctx, ep)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, os.ErrPermission) {
			return nil, errdefs.Wrap(errdefs.KindFailedPrecondition, fmt.Errorf("reaching the agent at %s: %w: run banger as the user that owns the VM", ep, err))
		}
		if !ctxtime.Sleep(ctx, wait) {
			return nil, dialError(ep, err)
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// dialError says what the last attempt saw.
func dialError(ep Endpoint, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return errdefs.Unavailable("reaching the agent: no socket at %s: is the VM running?", ep.Path)
	}
	return errdefs.Wrap(errdefs.KindUnavailable, fmt.Errorf("reaching the agent at %s: %w", ep, err))
}

func dialOnce(ctx context.Context, ep Endpoint) (*Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	switch ep.Kind {
	case KindSerial:
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", ep.Path)
		if err != nil {
			return nil, unwrapOpError(err)
		}
		return NewConn(c.(*net.UnixConn)), nil
	case KindHybridVsock:
		return dialHybrid(ctx, ep.Path, ep.port())
	default:
		f, err := dialSockaddr(ctx, unix.AF_VSOCK, &unix.SockaddrVM{CID: ep.CID, Port: ep.port()})
		if err != nil {
			return nil, err
		}
		return NewConn(f), nil
	}
}

// dialHybrid opens a Firecracker hybrid vsock connection: it asks the
// VMM's socket to CONNECT to the guest port and expects "OK <n>" back.
// Firecracker closes the socket instead when nothing listens on the port.
func dialHybrid(ctx context.Context, path string, port uint32) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, unwrapOpError(err)
	}
	c := nc.(*net.UnixConn)
	stop := bindDeadline(ctx, c.SetDeadline)
	br := bufio.NewReader(c)
	line, err := handshake(c, br, port)
	stop()
	if err != nil {
		c.Close()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("the guest does not listen on vsock port %d yet", port)
		}
		if line != "" {
			return nil, fmt.Errorf("CONNECT %d: unexpected answer %q", port, line)
		}
		return nil, fmt.Errorf("CONNECT %d: %w", port, err)
	}
	return newConn(c, br), nil
}

// handshake writes CONNECT and reads the answer's line.
func handshake(c net.Conn, br *bufio.Reader, port uint32) (string, error) {
	if _, err := fmt.Fprintf(c, "CONNECT %d\n", port); err != nil {
		return "", err
	}
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSpace(line)
	if f := strings.Fields(line); len(f) != 2 || f[0] != "OK" {
		return line, errors.New("not OK")
	}
	return line, nil
}

// unwrapOpError drops net.OpError's "dial unix PATH:" prefix, which the
// caller names its own way.
func unwrapOpError(err error) error {
	if oe, ok := errors.AsType[*net.OpError](err); ok && oe.Err != nil {
		return oe.Err
	}
	return err
}
