package vm

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// A guest whose port 22 takes connections but whose sshd does not speak
// yet is not ready; it is once sshd sends its banner.
func TestWaitSSHWantsTheBanner(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if accepted.Add(1) > 3 {
				c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
			}
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := waitSSH(ctx, ln.Addr().String()); err != nil {
		t.Fatalf("waitSSH: %v", err)
	}
	if n := accepted.Load(); n < 4 {
		t.Errorf("waitSSH returned after %d connections, before sshd spoke", n)
	}
}

// An sshd slower to speak than a connection takes to open (a guest
// still busy booting under emulation) is waited for on the connection it
// has, not abandoned for a new one every few seconds.
func TestWaitSSHWaitsForASlowBanner(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				time.Sleep(3 * time.Second) // the slow sshd under test
				c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
			}()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := waitSSH(ctx, ln.Addr().String()); err != nil {
		t.Fatalf("waitSSH: %v", err)
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("waitSSH opened %d connections to an sshd that answers every one, slowly", n)
	}
}

// Something else on port 22 is not sshd; nothing at all is not ready.
func TestWaitSSHRefusesOthers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\n"))
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := waitSSH(ctx, ln.Addr().String()); err == nil {
		t.Error("waitSSH took an HTTP server for sshd")
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := waitSSH(ctx, addr); err == nil {
		t.Error("waitSSH found sshd where nothing listens")
	}
}
