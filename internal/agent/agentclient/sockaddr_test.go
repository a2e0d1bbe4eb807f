package agentclient

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestDialSockaddr drives the AF_VSOCK dialling code over AF_UNIX, the one
// family a test can connect to on any machine.
func TestDialSockaddr(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("hi\n"))
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	f, err := dialSockaddr(ctx, unix.AF_UNIX, &unix.SockaddrUnix{Name: path})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The deadline applies: the socket is polled by the runtime.
	if err := f.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatalf("SetReadDeadline = %v; want the socket to support deadlines", err)
	}
	buf := make([]byte, 3)
	if n, err := f.Read(buf); err != nil || string(buf[:n]) != "hi\n" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}

	ln.Close()
	if _, err := dialSockaddr(ctx, unix.AF_UNIX, &unix.SockaddrUnix{Name: path}); !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ECONNREFUSED) {
		t.Errorf("dialling a closed listener = %v; want refused or missing", err)
	}
}
