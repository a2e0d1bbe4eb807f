package agentclient_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/errdefs"
)

func listenUnix(t *testing.T, path string) *net.UnixListener {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestDialSerialWaitsForTheSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.sock")
	type result struct {
		c   *agentclient.Conn
		err error
	}
	dialed := make(chan result, 1)
	go func() {
		c, err := agentclient.Dial(testCtx(t), agentclient.Endpoint{Kind: agentclient.KindSerial, Path: path})
		dialed <- result{c, err}
	}()
	// The VMM creates its socket after banger starts dialling.
	ln := listenUnix(t, path)
	guest, err := ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	serve(t, guest, guestOptions(t, true))
	r := <-dialed
	if r.err != nil {
		t.Fatalf("Dial = %v", r.err)
	}
	defer r.c.Close()
	if _, err := r.c.Hello(testCtx(t)); err != nil {
		t.Fatalf("Hello over the dialled socket: %v", err)
	}
}

// fakeFirecracker is the VMM's side of hybrid vsock: it takes "CONNECT
// port", then refuses (closes) the first refusals connections, as
// Firecracker does while nothing listens in the guest, and hands the rest
// to a guest agent after answering OK.
func fakeFirecracker(t *testing.T, path string, refusals int, answer string) <-chan string {
	ln := listenUnix(t, path)
	lines := make(chan string, 16)
	go func() {
		for i := 0; ; i++ {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			br := bufio.NewReader(c)
			line, err := br.ReadString('\n')
			if err != nil {
				c.Close()
				continue
			}
			lines <- line
			if i < refusals {
				c.Close()
				continue
			}
			c.Write([]byte(answer))
			serve(t, bufferedConn{c, br}, guestOptions(t, true))
		}
	}()
	return lines
}

// bufferedConn reads through the reader that read the CONNECT line.
type bufferedConn struct {
	*net.UnixConn
	br *bufio.Reader
}

func (b bufferedConn) Read(p []byte) (int, error) { return b.br.Read(p) }

func TestDialHybridVsock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.sock")
	lines := fakeFirecracker(t, path, 2, "OK 1073741824\n")
	c, err := agentclient.Dial(testCtx(t), agentclient.Endpoint{Kind: agentclient.KindHybridVsock, Path: path})
	if err != nil {
		t.Fatalf("Dial = %v", err)
	}
	defer c.Close()
	if h, err := c.Hello(testCtx(t)); err != nil || h.Hostname == "" {
		t.Fatalf("Hello over hybrid vsock = %+v, %v", h, err)
	}
	for i := range 3 {
		if l := <-lines; l != "CONNECT 52\n" {
			t.Errorf("attempt %d sent %q; want CONNECT 52", i, l)
		}
	}
}

func TestDialHybridVsockErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.sock")
	fakeFirecracker(t, path, 1<<30, "")
	ctx, cancel := context.WithTimeout(testCtx(t), 100*time.Millisecond)
	defer cancel()
	_, err := agentclient.Dial(ctx, agentclient.Endpoint{Kind: agentclient.KindHybridVsock, Path: path, Port: 1024})
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "does not listen on vsock port 1024") {
		t.Errorf("Dial while the guest does not listen = %v; want unavailable, saying so", err)
	}

	path = filepath.Join(t.TempDir(), "v.sock")
	fakeFirecracker(t, path, 0, "NOPE\n")
	ctx, cancel = context.WithTimeout(testCtx(t), 100*time.Millisecond)
	defer cancel()
	_, err = agentclient.Dial(ctx, agentclient.Endpoint{Kind: agentclient.KindHybridVsock, Path: path})
	if err == nil || !strings.Contains(err.Error(), `"NOPE"`) {
		t.Errorf("Dial answered NOPE = %v; want an error quoting the answer", err)
	}
}

func TestDialErrors(t *testing.T) {
	for _, ep := range []agentclient.Endpoint{
		{Kind: "tcp", Path: "x"},
		{Kind: agentclient.KindSerial},
		{Kind: agentclient.KindHybridVsock},
		{Kind: agentclient.KindVsock, CID: 2},
	} {
		if _, err := agentclient.Dial(testCtx(t), ep); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("Dial(%+v) = %v; want invalid argument", ep, err)
		}
	}
	path := filepath.Join(t.TempDir(), "missing.sock")
	ctx, cancel := context.WithTimeout(testCtx(t), 500*time.Millisecond)
	defer cancel()
	_, err := agentclient.Dial(ctx, agentclient.Endpoint{Kind: agentclient.KindSerial, Path: path})
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "no socket at "+path) || !strings.Contains(err.Error(), "is the VM running") {
		t.Errorf("Dial to a missing socket = %v; want unavailable, naming it and the likely cause", err)
	}
}
