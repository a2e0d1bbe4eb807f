package kubecp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
)

// ForwardedConfig is Config for clients that dial for themselves: the
// SPDY and WebSocket streams of exec, attach and port-forward ignore
// rest.Config's Dial. It listens on 127.0.0.1 in the host's namespace
// and carries each connection to the apiserver inside the namespace,
// until the test ends. The apiserver's certificate names 127.0.0.1, so
// TLS checks hold unchanged.
func (cp *ControlPlane) ForwardedConfig(t testing.TB) *rest.Config {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(Server)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		forward(ctx, ln, DialIn(cp.NS), target.Host, &wg)
	}()
	t.Cleanup(func() {
		cancel()
		ln.Close()
		wg.Wait()
	})
	cfg := rest.CopyConfig(cp.Config)
	cfg.Host = "https://" + ln.Addr().String()
	cfg.Dial = nil
	return cfg
}

// forward accepts connections on ln until it is closed and joins each to
// a connection dial makes to addr.
func forward(ctx context.Context, ln net.Listener, dial func(context.Context, string, string) (net.Conn, error), addr string, wg *sync.WaitGroup) {
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			up, err := dial(ctx, "tcp", addr)
			if err != nil {
				return
			}
			defer up.Close()
			// A side that ends its sending half-closes the other, so
			// that everything sent before reaches the far end (closing
			// with its bytes unread would reset the connection and lose
			// them); the test's end closes both.
			stop := context.AfterFunc(ctx, func() { c.Close(); up.Close() })
			defer stop()
			done := make(chan struct{})
			go func() { pipe(up, c); close(done) }()
			pipe(c, up)
			<-done
		}()
	}
}

// pipe copies from src to dst until src ends, then half-closes dst.
func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		dst.Close()
	}
}
