package dns

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	miekg "github.com/miekg/dns"
)

// Defaults for Options.
const (
	DefaultZone = "vm"
	// DefaultTTL is short: a name changes hands when a VM is deleted and
	// another takes its name.
	DefaultTTL = 5
	// DefaultForwardTimeout bounds a forwarded question, all upstreams
	// together, so a host without working resolvers fails fast.
	DefaultForwardTimeout = 2 * time.Second
)

// Forwarder answers a question outside the zone, usually by asking the
// host's resolvers.
type Forwarder interface {
	Forward(ctx context.Context, req *miekg.Msg) (*miekg.Msg, error)
}

// Options configure a Handler.
type Options struct {
	// Zone holds the VM names; DefaultZone when empty.
	Zone string
	// TTL of every answer from the zone, including negative ones;
	// DefaultTTL when zero.
	TTL uint32
	// Lookup returns the address of the VM with the given name: one
	// lower-case label, without the zone. Nil knows no VM.
	Lookup func(name string) (netip.Addr, bool)
	// Forward answers questions outside the zone; nil answers SERVFAIL.
	Forward Forwarder
	// ForwardTimeout bounds Forward; DefaultForwardTimeout when zero.
	ForwardTimeout time.Duration
	// Allow reports whether a client may ask at all; others are REFUSED.
	// Nil allows loopback clients only.
	Allow func(client netip.Addr) bool
	// Guard, when set, decides per client which names outside the zone
	// are forwarded, and sees each forwarded answer first; nil forwards
	// every name for every allowed client.
	Guard Guard
	// Log gets a debug line for each failed forward; nil logs nothing.
	Log *slog.Logger
}

// A Guard narrows forwarding for some clients: a guest that may only
// reach some domains is only answered for them, and the addresses it is
// given are opened for it before it gets them.
type Guard interface {
	// Admit reports whether client may have a question about name (lower
	// case, without the trailing dot) forwarded; if not, it is REFUSED.
	Admit(client netip.Addr, name string) bool
	// Answered is told a successful forwarded answer before client gets
	// it. An error answers SERVFAIL instead.
	Answered(ctx context.Context, client netip.Addr, name string, resp *miekg.Msg) error
}

// Handler answers DNS questions: from Lookup inside the zone, through
// Forward outside it. It is a miekg/dns Handler; Answer is the same
// logic without a socket.
type Handler struct {
	zone    string // "vm.", lower case
	soa     *miekg.SOA
	opts    Options
	timeout time.Duration
}

var _ miekg.Handler = (*Handler)(nil)

// NewHandler returns a Handler for opts.
func NewHandler(opts Options) *Handler {
	if opts.Zone == "" {
		opts.Zone = DefaultZone
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Allow == nil {
		opts.Allow = netip.Addr.IsLoopback
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	zone := strings.ToLower(miekg.Fqdn(opts.Zone))
	h := &Handler{zone: zone, opts: opts, timeout: opts.ForwardTimeout}
	if h.timeout <= 0 {
		h.timeout = DefaultForwardTimeout
	}
	h.soa = &miekg.SOA{
		Hdr: miekg.RR_Header{Name: zone, Rrtype: miekg.TypeSOA, Class: miekg.ClassINET, Ttl: opts.TTL},
		Ns:  "ns." + zone, Mbox: "hostmaster." + zone,
		Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: opts.TTL,
	}
	return h
}

// ServeDNS answers one message that arrived on a socket. Over UDP an
// answer too large for the client is truncated, so the client retries
// over TCP.
func (h *Handler) ServeDNS(w miekg.ResponseWriter, req *miekg.Msg) {
	client := addrOf(w.RemoteAddr())
	m := h.Answer(context.Background(), client, req)
	if m == nil {
		return
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		m.Truncate(udpSize(req))
	}
	_ = w.WriteMsg(m)
}

// Answer returns the reply to req from client, or nil when req deserves
// none (it is itself a reply).
func (h *Handler) Answer(ctx context.Context, client netip.Addr, req *miekg.Msg) *miekg.Msg {
	m := new(miekg.Msg)
	switch {
	case req.Response:
		return nil
	case !h.opts.Allow(client.Unmap()):
		return m.SetRcode(req, miekg.RcodeRefused)
	case req.Opcode != miekg.OpcodeQuery:
		return m.SetRcode(req, miekg.RcodeNotImplemented)
	case len(req.Question) != 1:
		return m.SetRcode(req, miekg.RcodeFormatError)
	}
	q := req.Question[0]
	name := strings.ToLower(miekg.Fqdn(q.Name))
	if name == h.zone || strings.HasSuffix(name, "."+h.zone) {
		m = h.answerZone(req, q, strings.TrimSuffix(strings.TrimSuffix(name, h.zone), "."))
	} else {
		m = h.guardedForward(ctx, client.Unmap(), req, strings.TrimSuffix(name, "."))
	}
	if opt := req.IsEdns0(); opt != nil && m.IsEdns0() == nil {
		m.SetEdns0(max(opt.UDPSize(), miekg.MinMsgSize), false)
	}
	return m
}

// answerZone answers a question for the zone itself (label "") or for
// a name in it. The answer is authoritative; a name that exists but has
// no record of the asked type gets an empty answer, not NXDOMAIN.
func (h *Handler) answerZone(req *miekg.Msg, q miekg.Question, label string) *miekg.Msg {
	m := new(miekg.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = h.opts.Forward != nil
	if q.Qclass != miekg.ClassINET && q.Qclass != miekg.ClassANY {
		return m.SetRcode(req, miekg.RcodeRefused)
	}
	owner := miekg.Fqdn(q.Name)
	if label == "" {
		if q.Qtype == miekg.TypeSOA || q.Qtype == miekg.TypeANY {
			m.Answer = append(m.Answer, h.soa)
		} else {
			m.Ns = append(m.Ns, h.soa)
		}
		return m
	}
	var addr netip.Addr
	found := false
	if !strings.Contains(label, ".") && h.opts.Lookup != nil {
		addr, found = h.opts.Lookup(label)
	}
	switch {
	case !found:
		m.Rcode = miekg.RcodeNameError
		m.Ns = append(m.Ns, h.soa)
	case addr.Is4() && (q.Qtype == miekg.TypeA || q.Qtype == miekg.TypeANY):
		m.Answer = append(m.Answer, &miekg.A{
			Hdr: miekg.RR_Header{Name: owner, Rrtype: miekg.TypeA, Class: miekg.ClassINET, Ttl: h.opts.TTL},
			A:   addr.AsSlice(),
		})
	default:
		m.Ns = append(m.Ns, h.soa)
	}
	return m
}

// guardedForward forwards req unless the Guard refuses it, and shows the
// Guard the answer before the client gets it.
func (h *Handler) guardedForward(ctx context.Context, client netip.Addr, req *miekg.Msg, name string) *miekg.Msg {
	g := h.opts.Guard
	if g == nil {
		return h.forward(ctx, req)
	}
	if !g.Admit(client, name) {
		return new(miekg.Msg).SetRcode(req, miekg.RcodeRefused)
	}
	m := h.forward(ctx, req)
	if m.Rcode != miekg.RcodeSuccess {
		return m
	}
	if err := g.Answered(ctx, client, name, m); err != nil {
		h.opts.Log.Warn("a guarded DNS answer was not let through", "client", client, "name", name, "err", err)
		fail := new(miekg.Msg).SetRcode(req, miekg.RcodeServerFailure)
		fail.RecursionAvailable = true
		return fail
	}
	return m
}

// forward asks Forward, answering SERVFAIL when there is none or it
// fails.
func (h *Handler) forward(ctx context.Context, req *miekg.Msg) *miekg.Msg {
	if h.opts.Forward == nil {
		return new(miekg.Msg).SetRcode(req, miekg.RcodeServerFailure)
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	resp, err := h.opts.Forward.Forward(ctx, req.Copy())
	if err != nil {
		h.opts.Log.Debug("forwarding a DNS question", "name", req.Question[0].Name, "err", err)
		m := new(miekg.Msg).SetRcode(req, miekg.RcodeServerFailure)
		m.RecursionAvailable = true
		return m
	}
	resp.Id = req.Id
	return resp
}

// AllowFrom returns an Allow function that lets the host itself (loopback
// and the addresses of its interfaces) and clients in subnets ask.
func AllowFrom(subnets ...netip.Prefix) func(netip.Addr) bool {
	return func(client netip.Addr) bool {
		if client.IsLoopback() {
			return true
		}
		for _, p := range subnets {
			if p.Contains(client) {
				return true
			}
		}
		return isHostAddr(client)
	}
}

// isHostAddr reports whether a is an address of one of this host's
// interfaces: a question the host asked from another of its addresses.
func isHostAddr(a netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range addrs {
		if n, ok := ia.(*net.IPNet); ok {
			if h, ok := netip.AddrFromSlice(n.IP); ok && h.Unmap() == a {
				return true
			}
		}
	}
	return false
}

// addrOf is the IP address of a socket address; the zero Addr when it
// has none.
func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// udpSize is the largest UDP answer the asker accepts.
func udpSize(req *miekg.Msg) int {
	if opt := req.IsEdns0(); opt != nil {
		return max(int(opt.UDPSize()), miekg.MinMsgSize)
	}
	return miekg.MinMsgSize
}
