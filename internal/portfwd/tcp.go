package portfwd

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
)

// tcpForward is a TCP listener and the connections it proxies.
type tcpForward struct {
	ln     net.Listener
	target string
	ctx    context.Context // ends at close, cutting dials short
	cancel context.CancelFunc
	log    *slog.Logger
	slots  chan struct{} // one per open connection, MaxConns in all
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func listenTCP(sp Spec, target string, log *slog.Logger) (*forward, error) {
	ln, err := net.Listen("tcp", sp.Listen())
	if err != nil {
		return nil, err
	}
	t := &tcpForward{ln: ln, target: target, log: log, slots: make(chan struct{}, MaxConns), conns: map[net.Conn]struct{}{}}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	sp.HostPort = boundPort(ln.Addr())
	t.wg.Add(1)
	go t.serve()
	return &forward{spec: sp, close: t.close}, nil
}

func (t *tcpForward) serve() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			return // closed
		}
		select {
		case t.slots <- struct{}{}:
		default:
			t.log.Warn("refusing a connection: too many open", "max", MaxConns)
			c.Close()
			continue
		}
		if !t.track(c) {
			<-t.slots
			c.Close()
			return
		}
		t.wg.Add(1)
		go t.proxy(c)
	}
}

// track records c as open, unless the forward is closing.
func (t *tcpForward) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *tcpForward) untrack(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
	c.Close()
}

// proxy copies between the client c and a new connection to the guest,
// each way until its end, passing half-closes on.
func (t *tcpForward) proxy(c net.Conn) {
	defer t.wg.Done()
	defer func() { <-t.slots }()
	defer t.untrack(c)
	ctx, cancel := context.WithTimeout(t.ctx, dialTimeout)
	g, err := (&net.Dialer{}).DialContext(ctx, "tcp", t.target)
	cancel()
	if err != nil {
		t.log.Debug("dialing the guest", "err", err)
		return
	}
	if !t.track(g) {
		g.Close()
		return
	}
	defer t.untrack(g)
	done := make(chan struct{})
	go func() {
		pipe(g, c)
		close(done)
	}()
	pipe(c, g)
	<-done
}

// pipe copies src to dst, then closes dst's write side (or all of it).
func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	dst.Close()
}

// close stops accepting, cuts every connection and waits for the
// goroutines to end.
func (t *tcpForward) close() {
	t.cancel()
	t.ln.Close()
	t.mu.Lock()
	t.closed = true
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}
