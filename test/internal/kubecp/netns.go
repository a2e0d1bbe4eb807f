package kubecp

import (
	"context"
	"fmt"
	"net"
	"runtime"

	"github.com/vishvananda/netns"
)

// DialIn returns a dial function whose connections are made inside the
// named network namespace, for a process that itself stays in the host's:
// a socket keeps the namespace it was made in. Each dial runs on its own
// OS thread, which enters the namespace and is thrown away afterwards
// (its goroutine ends still locked), so no other goroutine ever runs there.
func DialIn(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			conn net.Conn
			err  error
		}
		ch := make(chan result, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			conn, err := dialInside(ctx, ns, network, addr)
			ch <- result{conn, err}
		}()
		r := <-ch
		return r.conn, r.err
	}
}

func dialInside(ctx context.Context, ns, network, addr string) (net.Conn, error) {
	target, err := netns.GetFromName(ns)
	if err != nil {
		return nil, fmt.Errorf("opening network namespace %s (ip netns list shows them): %w", ns, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		return nil, fmt.Errorf("entering network namespace %s: %w", ns, err)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
