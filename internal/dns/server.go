package dns

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"

	miekg "github.com/miekg/dns"
)

// Server serves a handler over UDP and TCP on a few addresses.
type Server struct {
	servers []*miekg.Server
	addrs   []net.Addr
}

// Listen binds UDP and TCP on each address (host:port) and serves h on
// them until Close. Port 0 picks one free port for both. It returns once
// every socket is bound and served, or with the first error, having
// closed what it opened.
func Listen(addrs []string, h miekg.Handler) (*Server, error) {
	s := &Server{}
	for _, addr := range addrs {
		pc, ln, err := bind(addr)
		if err != nil {
			s.Close()
			return nil, err
		}
		if err := s.start(&miekg.Server{PacketConn: pc, Handler: h}, pc.LocalAddr()); err != nil {
			pc.Close()
			ln.Close()
			s.Close()
			return nil, err
		}
		if err := s.start(&miekg.Server{Listener: ln, Handler: h}, ln.Addr()); err != nil {
			ln.Close()
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// bind opens the UDP and TCP sockets of one address. With port 0 the TCP
// socket takes the port the system gave the UDP one, trying a few times
// when that port is taken for TCP.
func bind(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("DNS listen address %q: %w", addr, err)
	}
	for tries := 1; ; tries++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("listening for DNS on udp %s: %w", addr, err)
		}
		tcpAddr := addr
		if port == "0" {
			tcpAddr = net.JoinHostPort(host, strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port))
		}
		ln, err := net.Listen("tcp", tcpAddr)
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || !errors.Is(err, syscall.EADDRINUSE) || tries == 10 {
			return nil, nil, fmt.Errorf("listening for DNS on tcp %s: %w", tcpAddr, err)
		}
	}
}

// start serves srv and waits until it runs, so that Close can stop it.
func (s *Server) start(srv *miekg.Server, addr net.Addr) error {
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	failed := make(chan error, 1)
	go func() { failed <- srv.ActivateAndServe() }()
	select {
	case <-started:
		s.servers = append(s.servers, srv)
		s.addrs = append(s.addrs, addr)
		return nil
	case err := <-failed:
		return fmt.Errorf("serving DNS on %s %s: %w", addr.Network(), addr, err)
	}
}

// Addrs are the addresses served: UDP and TCP for each address given to
// Listen, in that order.
func (s *Server) Addrs() []net.Addr { return s.addrs }

// Close stops serving and closes the sockets.
func (s *Server) Close() error {
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.Shutdown())
	}
	s.servers = nil
	return errors.Join(errs...)
}
