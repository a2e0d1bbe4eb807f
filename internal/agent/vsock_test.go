package agent

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"banger/internal/agent/agentclient"
)

// TestListenerServesConnectionsConcurrently drives the vsock listener's
// code over AF_UNIX, the one family a test can connect to on any machine:
// only the address differs from AF_VSOCK.
func TestListenerServesConnectionsConcurrently(t *testing.T) {
	g := newGuest(t)
	probing := make(chan struct{})
	var once sync.Once
	g.onProbe = func(int64) { once.Do(func() { close(probing) }) }
	path := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := listenSockaddr(unix.AF_UNIX, &unix.SockaddrUnix{Name: path})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	stopped := make(chan struct{})
	go func() {
		NewServer(g.opts).serveVsock(ctx, ln)
		close(stopped)
	}()

	dial := func() *agentclient.Conn {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		return agentclient.NewConn(c.(*net.UnixConn))
	}
	// A connection blocked in wait-ready does not hold up another.
	waiting := dial()
	defer waiting.Close()
	waitDone := make(chan error, 1)
	go func() {
		_, err := waiting.WaitReady(testCtx(t), time.Hour)
		waitDone <- err
	}()
	<-probing // the agent is in the wait
	other := dial()
	if _, err := other.Hello(testCtx(t)); err != nil {
		t.Fatalf("hello while another connection waits: %v", err)
	}
	other.Close()

	cancel()
	<-stopped
	// The stopping agent hangs up rather than leave the host waiting.
	if err := <-waitDone; err == nil || errors.Is(err, agentclient.ErrNotReady) || !strings.Contains(err.Error(), "closed") {
		t.Errorf("wait-ready across the agent stopping: %v; want the connection closed", err)
	}
	if _, err := net.Dial("unix", path); !errors.Is(err, unix.ECONNREFUSED) {
		t.Errorf("dialling a stopped agent: %v; want connection refused (the listener closed)", err)
	}
}

func TestListenVsock(t *testing.T) {
	ln, err := listenVsockPort(0x7ba9)
	if errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.ENODEV) {
		t.Skipf("AF_VSOCK is not available here: %v", err)
	}
	if err != nil {
		t.Fatalf("listening on vsock: %v", err)
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
}
