package portfwd

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Limits on what one forward holds, so a flood of clients cannot use up
// the daemon's goroutines and descriptors.
const (
	// MaxConns bounds a TCP forward's open connections; more are refused.
	MaxConns = 512
	// MaxSessions bounds a UDP forward's clients; packets from more are
	// dropped.
	MaxSessions = 512
	// UDPIdle is how long a UDP client's session lives without traffic.
	UDPIdle = 60 * time.Second
	// dialTimeout bounds connecting to the guest.
	dialTimeout = 10 * time.Second
)

// Forwarder forwards host ports to one guest address. Its zero value is
// not usable; make one with New.
type Forwarder struct {
	guest string // the guest's address, an IP
	log   *slog.Logger
	mu    sync.Mutex
	fwds  []*forward
}

// forward is one listening forward and what it serves.
type forward struct {
	spec  Spec // HostPort the bound one
	close func()
}

// New returns a Forwarder to guest (an IP address).
func New(guest string, log *slog.Logger) *Forwarder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Forwarder{guest: guest, log: log}
}

// Add starts forwarding sp and returns it with the host port bound (the
// free port picked when sp.HostPort is 0).
func (f *Forwarder) Add(sp Spec) (Spec, error) {
	if err := sp.Check(); err != nil {
		return sp, err
	}
	if sp.HostAddr == "" {
		sp.HostAddr = DefaultHostAddr
	}
	target := net.JoinHostPort(f.guest, strconv.Itoa(sp.GuestPort))
	log := f.log.With("forward", sp.String())
	var fw *forward
	var err error
	switch sp.Proto {
	case TCP:
		fw, err = listenTCP(sp, target, log)
	default:
		fw, err = listenUDP(sp, target, log)
	}
	if err != nil {
		return sp, bindError(sp, err)
	}
	f.mu.Lock()
	f.fwds = append(f.fwds, fw)
	f.mu.Unlock()
	return fw.spec, nil
}

// bindError says which port could not be had and how to pick another.
func bindError(sp Spec, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("host port %s/%s is already in use: pick another host port (-p OTHER:%d), or let banger pick a free one (-p %d): %w",
			sp.Listen(), sp.Proto, sp.GuestPort, sp.GuestPort, ErrPortInUse)
	}
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		return fmt.Errorf("host address %s is not one of this host's: give one of its addresses, or 127.0.0.1: %w", sp.HostAddr, err)
	}
	return fmt.Errorf("listening on %s/%s: %w", sp.Listen(), sp.Proto, err)
}

// ErrPortInUse marks a host port another program (or forward) holds.
var ErrPortInUse = errors.New("address already in use")

// Remove stops the forward listening on sp's host address, port and
// protocol (the bound port), reporting whether there was one.
func (f *Forwarder) Remove(sp Spec) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, fw := range f.fwds {
		if fw.spec.Same(sp) {
			fw.close()
			f.fwds = append(f.fwds[:i], f.fwds[i+1:]...)
			return true
		}
	}
	return false
}

// Specs are the forwards running, with their bound ports.
func (f *Forwarder) Specs() []Spec {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Spec, len(f.fwds))
	for i, fw := range f.fwds {
		out[i] = fw.spec
	}
	return out
}

// Close stops every forward: listeners closed, connections cut.
func (f *Forwarder) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fw := range f.fwds {
		fw.close()
	}
	f.fwds = nil
}

// boundPort is the port l listens on.
func boundPort(a net.Addr) int {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.Port
	case *net.UDPAddr:
		return a.Port
	}
	return 0
}
