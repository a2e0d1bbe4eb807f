package dns

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
)

// serve starts h on a loopback port and returns its UDP and TCP addresses.
func serve(t *testing.T, h miekg.Handler) (udp, tcp string) {
	t.Helper()
	s, err := Listen([]string{"127.0.0.1:0"}, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	addrs := s.Addrs()
	if len(addrs) != 2 || addrs[0].Network() != "udp" || addrs[1].Network() != "tcp" {
		t.Fatalf("Addrs() = %v, want one udp and one tcp address", addrs)
	}
	return addrs[0].String(), addrs[1].String()
}

func exchangeOver(t *testing.T, network, addr string, req *miekg.Msg) *miekg.Msg {
	t.Helper()
	c := &miekg.Client{Net: network, Timeout: 5 * time.Second}
	m, _, err := c.Exchange(req, addr)
	if err != nil {
		t.Fatalf("asking %s over %s: %v", addr, network, err)
	}
	return m
}

func TestServerAnswersOverUDPAndTCP(t *testing.T) {
	h, _ := newTestHandler(nil)
	udp, tcp := serve(t, h)
	for network, addr := range map[string]string{"udp": udp, "tcp": tcp} {
		m := exchangeOver(t, network, addr, query("box.vm.", miekg.TypeA))
		if m.Rcode != miekg.RcodeSuccess || len(m.Answer) != 1 || m.Answer[0].(*miekg.A).A.String() != "172.16.0.2" {
			t.Errorf("over %s: %v", network, m)
		}
		if m := exchangeOver(t, network, addr, query("nosuch.vm.", miekg.TypeA)); m.Rcode != miekg.RcodeNameError {
			t.Errorf("unknown name over %s: %v", network, m)
		}
	}
}

func TestServerCloseStopsAnswering(t *testing.T) {
	h, _ := newTestHandler(nil)
	s, err := Listen([]string{"127.0.0.1:0"}, h)
	if err != nil {
		t.Fatal(err)
	}
	tcp := s.Addrs()[1].String()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", tcp, time.Second); err == nil {
		c.Close()
		t.Errorf("tcp %s still accepts after Close", tcp)
	}
}

func TestListenFailsOnATakenPort(t *testing.T) {
	h, _ := newTestHandler(nil)
	udp, _ := serve(t, h)
	if s, err := Listen([]string{udp}, h); err == nil || !strings.Contains(err.Error(), udp) {
		if s != nil {
			s.Close()
		}
		t.Errorf("second Listen on %s = %v, want an error naming the address", udp, err)
	}
}

// bigUpstream answers any A question with 40 records: too much for a
// plain UDP answer, so it arrives truncated.
type bigUpstream struct{}

func (bigUpstream) ServeDNS(w miekg.ResponseWriter, req *miekg.Msg) {
	m := new(miekg.Msg).SetReply(req)
	for i := range 40 {
		rr, _ := miekg.NewRR(req.Question[0].Name + " 60 IN A 198.51.100." + string(rune('0'+i%10)))
		m.Answer = append(m.Answer, rr)
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		m.Truncate(udpSize(req))
	}
	_ = w.WriteMsg(m)
}

func TestUpstreamForwardsAndRetriesTruncatedOverTCP(t *testing.T) {
	uu, ut := serve(t, bigUpstream{})
	if uu != ut {
		t.Fatalf("Listen on port 0 gave udp %s and tcp %s, want one port for both", uu, ut)
	}
	up := &Upstream{Servers: func() []string { return []string{uu} }}
	m, err := up.Forward(context.Background(), query("example.org.", miekg.TypeA))
	if err != nil || m.Truncated || len(m.Answer) != 40 {
		t.Fatalf("Forward = %v, %v; want all 40 records, over TCP", m, err)
	}
}

func TestHandlerForwardsThroughUpstreamOverSockets(t *testing.T) {
	upUDP, _ := serve(t, NewHandler(Options{Forward: &fakeForwarder{}}))
	h := NewHandler(Options{Forward: &Upstream{Servers: func() []string { return []string{upUDP} }}})
	udp, _ := serve(t, h)
	m := exchangeOver(t, "udp", udp, query("example.org.", miekg.TypeA))
	if m.Rcode != miekg.RcodeSuccess || len(m.Answer) != 1 {
		t.Errorf("forwarded answer: %v", m)
	}
}

func TestUpstreamUnreachableFailsFastWithServfail(t *testing.T) {
	// A loopback port nobody listens on: the question is refused at once.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().String()
	pc.Close()
	h := NewHandler(Options{Forward: &Upstream{Servers: func() []string { return []string{dead} }}})
	m := h.Answer(context.Background(), loopback, query("example.org.", miekg.TypeA))
	if m.Rcode != miekg.RcodeServerFailure {
		t.Errorf("unreachable upstream: %v, want SERVFAIL", m)
	}
	none := NewHandler(Options{Forward: &Upstream{Servers: func() []string { return nil }}})
	if m := none.Answer(context.Background(), loopback, query("example.org.", miekg.TypeA)); m.Rcode != miekg.RcodeServerFailure {
		t.Errorf("no upstream: %v, want SERVFAIL", m)
	}
}

func TestUpstreamTriesTheNextServerAfterServfail(t *testing.T) {
	bad, _ := serve(t, NewHandler(Options{})) // no forwarder: SERVFAIL
	good, _ := serve(t, NewHandler(Options{Forward: &fakeForwarder{}}))
	up := &Upstream{Servers: func() []string { return []string{bad, good} }}
	m, err := up.Forward(context.Background(), query("example.org.", miekg.TypeA))
	if err != nil || m.Rcode != miekg.RcodeSuccess || len(m.Answer) != 1 {
		t.Errorf("Forward = %v, %v; want the second server's answer", m, err)
	}
}

func TestParseResolvConf(t *testing.T) {
	conf := `# a comment
search example.org
nameserver 127.0.0.53
nameserver   192.0.2.1 # trailing
nameserver fe80::1%eth0
nameserver 0.0.0.0
nameserver bogus
nameserver
options edns0 trust-ad
`
	got := ParseResolvConf([]byte(conf))
	want := []netip.Addr{netip.MustParseAddr("127.0.0.53"), netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("fe80::1%eth0")}
	if !slices.Equal(got, want) {
		t.Errorf("ParseResolvConf = %v, want %v", got, want)
	}
}

func TestHostServersSkipsOwnAddressAndRereads(t *testing.T) {
	dir := t.TempDir()
	etc, resolved := filepath.Join(dir, "resolv.conf"), filepath.Join(dir, "resolved.conf")
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(etc, "nameserver 172.16.0.1\nnameserver 127.0.0.53\n")
	write(resolved, "nameserver 192.0.2.53\n")
	own := netip.MustParseAddr("172.16.0.1")
	r := &resolvConf{files: []string{etc, resolved}, skip: func(a netip.Addr) bool { return a == own }}
	if got := r.servers(); !slices.Equal(got, []string{"127.0.0.53:53"}) {
		t.Errorf("servers = %q, want the stub without our own address", got)
	}
	// Only our own address: fall back to resolved's upstream list.
	write(etc, "nameserver 172.16.0.1\n# changed\n")
	if got := r.servers(); !slices.Equal(got, []string{"192.0.2.53:53"}) {
		t.Errorf("after a change, servers = %q, want resolved's list", got)
	}
	os.Remove(resolved)
	if got := r.servers(); len(got) != 0 {
		t.Errorf("with no usable resolver, servers = %q", got)
	}
}
