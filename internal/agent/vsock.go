package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"banger/internal/ctxtime"
)

// vsockListener is a listening socket of a family the net package does
// not know (AF_VSOCK). It is an *os.File, which still gets the runtime's
// poller and so a Close that ends an Accept, and so do its connections.
type vsockListener struct{ f *os.File }

// listenVsockPort listens on every CID at port.
func listenVsockPort(port uint32) (*vsockListener, error) {
	ln, err := listenSockaddr(unix.AF_VSOCK, &unix.SockaddrVM{CID: unix.VMADDR_CID_ANY, Port: port})
	if err != nil {
		return nil, fmt.Errorf("vsock port %d: %w", port, err)
	}
	return ln, nil
}

// listenSockaddr listens on sa, a stream socket of the given family.
func listenSockaddr(family int, sa unix.Sockaddr) (*vsockListener, error) {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("creating a socket: %w", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("binding: %w", err)
	}
	if err := unix.Listen(fd, 16); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listening: %w", err)
	}
	return &vsockListener{f: os.NewFile(uintptr(fd), "listener")}, nil
}

// Accept waits for the next connection.
func (l *vsockListener) Accept() (*os.File, error) {
	rc, err := l.f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var (
		nfd  int
		aerr error
	)
	err = rc.Read(func(fd uintptr) bool {
		nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return !errors.Is(aerr, unix.EAGAIN)
	})
	if err != nil {
		return nil, err
	}
	if aerr != nil {
		return nil, fmt.Errorf("accepting a connection: %w", aerr)
	}
	return os.NewFile(uintptr(nfd), "conn"), nil
}

// Close stops listening.
func (l *vsockListener) Close() error { return l.f.Close() }

// listenVsock listens on the vsock port, trying for up to DeviceWait: the
// vsock transport may be loaded after the agent starts.
func (s *Server) listenVsock(ctx context.Context) (*vsockListener, error) {
	deadline := time.Now().Add(s.opts.DeviceWait)
	for {
		ln, err := listenVsockPort(s.opts.VsockPort)
		if err == nil {
			return ln, nil
		}
		if !time.Now().Before(deadline) {
			return nil, err
		}
		if !ctxtime.Sleep(ctx, s.opts.PollInterval) {
			return nil, ctx.Err()
		}
	}
}

// serveVsock serves each connection to ln concurrently until ctx ends.
func (s *Server) serveVsock(ctx context.Context, ln *vsockListener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("vsock", "err", err)
			ctxtime.Sleep(ctx, s.opts.PollInterval)
			continue
		}
		wg.Go(func() {
			defer c.Close()
			if err := s.ServeConn(ctx, c); err != nil {
				s.log.Info("vsock connection ended", "err", err)
			}
		})
	}
}
