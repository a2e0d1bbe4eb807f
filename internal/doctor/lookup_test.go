package doctor

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
)

// fakeDNS answers box.vm with 172.16.0.2 (and an AAAA record the lookup
// must skip), and every other name with NXDOMAIN. It returns its address.
func fakeDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &miekg.Server{PacketConn: pc, Handler: miekg.HandlerFunc(func(w miekg.ResponseWriter, q *miekg.Msg) {
		m := new(miekg.Msg).SetReply(q)
		if q.Question[0].Name != "box.vm." {
			m.Rcode = miekg.RcodeNameError
		} else {
			aaaa, _ := miekg.NewRR("box.vm. 60 IN AAAA fd00::2")
			a, _ := miekg.NewRR("box.vm. 60 IN A 172.16.0.2")
			m.Answer = []miekg.RR{aaaa, a}
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestLookupA(t *testing.T) {
	server := fakeDNS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := lookupA(ctx, server, "box.vm")
	if err != nil || !slices.Equal(got, []netip.Addr{boxIP}) {
		t.Errorf("lookupA(box.vm) = %v, %v; want [%s]", got, err, boxIP)
	}
	if _, err := lookupA(ctx, server, "nosuch.vm"); err == nil || !strings.Contains(err.Error(), "answered NXDOMAIN for nosuch.vm") {
		t.Errorf("lookupA(nosuch.vm) error = %v, want one saying NXDOMAIN", err)
	}
}

func TestLookupAGivesUpWithItsContext(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := lookupA(ctx, pc.LocalAddr().String(), "box.vm"); err == nil {
		t.Error("lookupA of a silent server returned no error")
	}
}
