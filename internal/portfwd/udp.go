package portfwd

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// udpForward relays datagrams: each client (host address and port) gets
// a session, a socket connected to the guest whose replies go back to
// that client, ended after UDPIdle without traffic.
type udpForward struct {
	pc       *net.UDPConn
	target   *net.UDPAddr
	log      *slog.Logger
	mu       sync.Mutex
	sessions map[string]*udpSession
	closed   bool
	wg       sync.WaitGroup
}

type udpSession struct {
	guest *net.UDPConn
	last  atomic.Int64 // unix nanoseconds of the last datagram either way
}

func listenUDP(sp Spec, target string, log *slog.Logger) (*forward, error) {
	taddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return nil, err
	}
	laddr, err := net.ResolveUDPAddr("udp", sp.Listen())
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, err
	}
	u := &udpForward{pc: pc, target: taddr, log: log, sessions: map[string]*udpSession{}}
	sp.HostPort = boundPort(pc.LocalAddr())
	u.wg.Add(1)
	go u.serve()
	return &forward{spec: sp, close: u.close}, nil
}

func (u *udpForward) serve() {
	defer u.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, client, err := u.pc.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // an ICMP error for an earlier reply, say
		}
		s := u.session(client)
		if s == nil {
			continue // too many clients, or closing: dropped
		}
		s.last.Store(time.Now().UnixNano())
		_, _ = s.guest.Write(buf[:n])
	}
}

// session returns client's session, making it when it is new; nil when
// there are MaxSessions already or the forward is closing.
func (u *udpForward) session(client *net.UDPAddr) *udpSession {
	key := client.String()
	u.mu.Lock()
	defer u.mu.Unlock()
	if s := u.sessions[key]; s != nil || u.closed {
		return s
	}
	if len(u.sessions) >= MaxSessions {
		u.log.Warn("dropping a datagram: too many UDP clients", "max", MaxSessions)
		return nil
	}
	g, err := net.DialUDP("udp", nil, u.target)
	if err != nil {
		u.log.Debug("dialing the guest", "err", err)
		return nil
	}
	s := &udpSession{guest: g}
	s.last.Store(time.Now().UnixNano())
	u.sessions[key] = s
	u.wg.Add(1)
	go u.replies(key, client, s)
	return s
}

// replies sends the guest's datagrams back to client until the session
// has been idle for UDPIdle or the forward closes.
func (u *udpForward) replies(key string, client *net.UDPAddr, s *udpSession) {
	defer u.wg.Done()
	defer u.drop(key, s)
	buf := make([]byte, 64<<10)
	for {
		last := time.Unix(0, s.last.Load())
		_ = s.guest.SetReadDeadline(last.Add(UDPIdle))
		n, err := s.guest.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if time.Since(time.Unix(0, s.last.Load())) >= UDPIdle {
				return
			}
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue // ICMP port unreachable from the guest, say
		}
		s.last.Store(time.Now().UnixNano())
		_, _ = u.pc.WriteToUDP(buf[:n], client)
	}
}

func (u *udpForward) drop(key string, s *udpSession) {
	u.mu.Lock()
	if u.sessions[key] == s {
		delete(u.sessions, key)
	}
	u.mu.Unlock()
	s.guest.Close()
}

func (u *udpForward) close() {
	u.pc.Close()
	u.mu.Lock()
	u.closed = true
	for _, s := range u.sessions {
		s.guest.Close()
	}
	u.mu.Unlock()
	u.wg.Wait()
}
