package dns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"

	miekg "github.com/miekg/dns"
)

var (
	loopback = netip.MustParseAddr("127.0.0.1")
	guest    = netip.MustParseAddr("172.16.0.9")
	stranger = netip.MustParseAddr("192.0.2.7")
)

// fakeForwarder answers every question with one A record, or fails.
type fakeForwarder struct {
	err   error
	asked []string
}

func (f *fakeForwarder) Forward(_ context.Context, req *miekg.Msg) (*miekg.Msg, error) {
	f.asked = append(f.asked, req.Question[0].Name)
	if f.err != nil {
		return nil, f.err
	}
	m := new(miekg.Msg).SetReply(req)
	m.Id = 0 // the handler must restore the asker's id
	m.RecursionAvailable = true
	rr, _ := miekg.NewRR(req.Question[0].Name + " 300 IN A 198.51.100.1")
	m.Answer = append(m.Answer, rr)
	return m, nil
}

// newTestHandler serves box and peer, lets loopback and 172.16.0.0/24
// ask, and forwards to fwd.
func newTestHandler(fwd Forwarder) (*Handler, *Records) {
	recs := &Records{}
	recs.Replace(map[string]netip.Addr{
		"box":  netip.MustParseAddr("172.16.0.2"),
		"peer": netip.MustParseAddr("172.16.0.3"),
	})
	return NewHandler(Options{
		Lookup:  recs.Lookup,
		Forward: fwd,
		Allow:   AllowFrom(netip.MustParsePrefix("172.16.0.0/24")),
	}), recs
}

func query(name string, qtype uint16) *miekg.Msg {
	m := new(miekg.Msg)
	m.SetQuestion(name, qtype)
	m.Id = 4242
	return m
}

// ask runs one question through h and checks the reply's id, rcode and
// number of answers.
func ask(t *testing.T, h *Handler, client netip.Addr, req *miekg.Msg, rcode, answers int) *miekg.Msg {
	t.Helper()
	m := h.Answer(context.Background(), client, req)
	if m == nil {
		t.Fatalf("%s: no reply", req.Question[0].Name)
	}
	if m.Id != req.Id || !m.Response {
		t.Errorf("%s: reply id %d response %v, want id %d and a response", req.Question[0].Name, m.Id, m.Response, req.Id)
	}
	if m.Rcode != rcode || len(m.Answer) != answers {
		t.Fatalf("%s: got %s with %d answers, want %s with %d:\n%s", req.Question[0].Name,
			miekg.RcodeToString[m.Rcode], len(m.Answer), miekg.RcodeToString[rcode], answers, m)
	}
	return m
}

func wantA(t *testing.T, m *miekg.Msg, owner, addr string) {
	t.Helper()
	a, ok := m.Answer[0].(*miekg.A)
	if !ok || a.Hdr.Name != owner || a.A.String() != addr || a.Hdr.Ttl != DefaultTTL {
		t.Errorf("answer %v, want %s %d IN A %s", m.Answer[0], owner, DefaultTTL, addr)
	}
	if !m.Authoritative {
		t.Errorf("answer for %s is not authoritative", owner)
	}
}

func wantSOA(t *testing.T, m *miekg.Msg) {
	t.Helper()
	if len(m.Ns) != 1 || m.Ns[0].Header().Rrtype != miekg.TypeSOA || m.Ns[0].Header().Ttl != DefaultTTL {
		t.Errorf("authority section %v, want the zone's SOA with TTL %d (for negative caching)", m.Ns, DefaultTTL)
	}
}

func TestAnswerA(t *testing.T) {
	h, _ := newTestHandler(nil)
	wantA(t, ask(t, h, guest, query("box.vm.", miekg.TypeA), miekg.RcodeSuccess, 1), "box.vm.", "172.16.0.2")
	wantA(t, ask(t, h, loopback, query("peer.vm.", miekg.TypeA), miekg.RcodeSuccess, 1), "peer.vm.", "172.16.0.3")
	wantA(t, ask(t, h, guest, query("box.vm.", miekg.TypeANY), miekg.RcodeSuccess, 1), "box.vm.", "172.16.0.2")
}

func TestAnswerAAAAForAnExistingNameIsEmpty(t *testing.T) {
	h, _ := newTestHandler(nil)
	for _, qtype := range []uint16{miekg.TypeAAAA, miekg.TypeMX, miekg.TypeTXT} {
		m := ask(t, h, guest, query("box.vm.", qtype), miekg.RcodeSuccess, 0)
		wantSOA(t, m)
	}
}

func TestAnswerUnknownNameIsNXDOMAIN(t *testing.T) {
	h, _ := newTestHandler(nil)
	for _, name := range []string{"nosuch.vm.", "a.box.vm.", "box-.vm."} {
		for _, qtype := range []uint16{miekg.TypeA, miekg.TypeAAAA} {
			wantSOA(t, ask(t, h, guest, query(name, qtype), miekg.RcodeNameError, 0))
		}
	}
}

func TestAnswerIgnoresCase(t *testing.T) {
	h, _ := newTestHandler(nil)
	// The answer keeps the asker's spelling, as resolvers that randomise
	// case expect.
	wantA(t, ask(t, h, guest, query("BoX.vM.", miekg.TypeA), miekg.RcodeSuccess, 1), "BoX.vM.", "172.16.0.2")
	recs := &Records{}
	recs.Replace(map[string]netip.Addr{"Mixed": netip.MustParseAddr("172.16.0.4")})
	h2 := NewHandler(Options{Lookup: recs.Lookup, Zone: "VM"})
	wantA(t, ask(t, h2, loopback, query("mixed.vm.", miekg.TypeA), miekg.RcodeSuccess, 1), "mixed.vm.", "172.16.0.4")
}

func TestAnswerWithAndWithoutTrailingDot(t *testing.T) {
	h, _ := newTestHandler(nil)
	wantA(t, ask(t, h, guest, query("box.vm", miekg.TypeA), miekg.RcodeSuccess, 1), "box.vm.", "172.16.0.2")
	h2 := NewHandler(Options{Lookup: func(string) (netip.Addr, bool) { return netip.MustParseAddr("172.16.0.5"), true }, Zone: "vm."})
	wantA(t, ask(t, h2, loopback, query("x.vm.", miekg.TypeA), miekg.RcodeSuccess, 1), "x.vm.", "172.16.0.5")
}

func TestAnswerZoneApex(t *testing.T) {
	h, _ := newTestHandler(nil)
	m := ask(t, h, guest, query("vm.", miekg.TypeSOA), miekg.RcodeSuccess, 1)
	if m.Answer[0].Header().Rrtype != miekg.TypeSOA {
		t.Errorf("SOA query answered with %v", m.Answer[0])
	}
	wantSOA(t, ask(t, h, guest, query("vm.", miekg.TypeA), miekg.RcodeSuccess, 0))
}

func TestAnswerFollowsRecords(t *testing.T) {
	h, recs := newTestHandler(nil)
	recs.Replace(map[string]netip.Addr{"peer": netip.MustParseAddr("172.16.0.3")})
	ask(t, h, guest, query("box.vm.", miekg.TypeA), miekg.RcodeNameError, 0)
	wantA(t, ask(t, h, guest, query("peer.vm.", miekg.TypeA), miekg.RcodeSuccess, 1), "peer.vm.", "172.16.0.3")
	if got := recs.Snapshot(); len(got) != 1 {
		t.Errorf("snapshot %v, want only peer", got)
	}
	empty := NewHandler(Options{})
	ask(t, empty, loopback, query("box.vm.", miekg.TypeA), miekg.RcodeNameError, 0)
}

func TestAnswerForwardsOtherNames(t *testing.T) {
	fwd := &fakeForwarder{}
	h, _ := newTestHandler(fwd)
	m := ask(t, h, guest, query("example.org.", miekg.TypeA), miekg.RcodeSuccess, 1)
	if len(fwd.asked) != 1 || fwd.asked[0] != "example.org." {
		t.Errorf("forwarder asked %q, want [example.org.]", fwd.asked)
	}
	if m.Authoritative {
		t.Errorf("a forwarded answer claims authority")
	}
	// .vm names never leave the host.
	ask(t, h, guest, query("nosuch.vm.", miekg.TypeA), miekg.RcodeNameError, 0)
	if len(fwd.asked) != 1 {
		t.Errorf("a .vm question was forwarded: %q", fwd.asked)
	}
}

func TestAnswerServfailWhenForwardingFails(t *testing.T) {
	h, _ := newTestHandler(&fakeForwarder{err: errors.New("network is unreachable")})
	ask(t, h, guest, query("example.org.", miekg.TypeA), miekg.RcodeServerFailure, 0)
	noFwd, _ := newTestHandler(nil)
	ask(t, noFwd, guest, query("example.org.", miekg.TypeA), miekg.RcodeServerFailure, 0)
}

func TestAnswerRefusesStrangers(t *testing.T) {
	fwd := &fakeForwarder{}
	h, _ := newTestHandler(fwd)
	ask(t, h, stranger, query("example.org.", miekg.TypeA), miekg.RcodeRefused, 0)
	ask(t, h, stranger, query("box.vm.", miekg.TypeA), miekg.RcodeRefused, 0)
	if len(fwd.asked) != 0 {
		t.Errorf("a stranger's question was forwarded: %q", fwd.asked)
	}
	// With no Allow, only loopback may ask.
	def := NewHandler(Options{Forward: fwd})
	ask(t, def, guest, query("example.org.", miekg.TypeA), miekg.RcodeRefused, 0)
	ask(t, def, loopback, query("example.org.", miekg.TypeA), miekg.RcodeSuccess, 1)
}

func TestAnswerOddMessages(t *testing.T) {
	h, _ := newTestHandler(nil)
	notify := query("box.vm.", miekg.TypeSOA)
	notify.Opcode = miekg.OpcodeNotify
	ask(t, h, guest, notify, miekg.RcodeNotImplemented, 0)

	two := query("box.vm.", miekg.TypeA)
	two.Question = append(two.Question, two.Question[0])
	if m := h.Answer(context.Background(), guest, two); m == nil || m.Rcode != miekg.RcodeFormatError {
		t.Errorf("two questions: %v, want FORMERR", m)
	}
	reply := query("box.vm.", miekg.TypeA)
	reply.Response = true
	if m := h.Answer(context.Background(), guest, reply); m != nil {
		t.Errorf("a reply was answered: %v", m)
	}
	chaos := query("box.vm.", miekg.TypeA)
	chaos.Question[0].Qclass = miekg.ClassCHAOS
	ask(t, h, guest, chaos, miekg.RcodeRefused, 0)
}

func TestAnswerEchoesEDNS(t *testing.T) {
	h, _ := newTestHandler(nil)
	req := query("box.vm.", miekg.TypeA)
	req.SetEdns0(1232, false)
	m := ask(t, h, guest, req, miekg.RcodeSuccess, 1)
	if opt := m.IsEdns0(); opt == nil || opt.UDPSize() != 1232 {
		t.Errorf("EDNS0 asker got OPT %v, want one with size 1232", opt)
	}
}

func TestAllowFromLetsTheHostAsk(t *testing.T) {
	allow := AllowFrom(netip.MustParsePrefix("172.16.0.0/24"))
	for _, a := range []string{"127.0.0.1", "::1", "172.16.0.200"} {
		if !allow(netip.MustParseAddr(a)) {
			t.Errorf("AllowFrom refuses %s", a)
		}
	}
	if allow(stranger) {
		t.Errorf("AllowFrom lets %s ask", stranger)
	}
	addrs, _ := net.InterfaceAddrs()
	for _, ia := range addrs {
		if n, ok := ia.(*net.IPNet); ok && !n.IP.IsLoopback() {
			if own, _ := netip.AddrFromSlice(n.IP); !allow(own.Unmap()) {
				t.Errorf("AllowFrom refuses this host's own address %s", own)
			}
		}
	}
}
