package dns

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	miekg "github.com/miekg/dns"
)

// fakeGuard admits the names in ok and records what it was shown.
type fakeGuard struct {
	ok       map[string]bool
	err      error
	answered []string
}

func (g *fakeGuard) Admit(_ netip.Addr, name string) bool { return g.ok[name] }

func (g *fakeGuard) Answered(_ context.Context, client netip.Addr, name string, resp *miekg.Msg) error {
	for _, r := range AddrsOf(resp, name) {
		g.answered = append(g.answered, client.String()+" "+name+" "+r.Addr.String())
	}
	return g.err
}

func TestGuardNarrowsForwarding(t *testing.T) {
	fwd := &fakeForwarder{}
	g := &fakeGuard{ok: map[string]bool{"allowed.example": true}}
	h, _ := newTestHandler(fwd)
	h.opts.Guard = g

	ask(t, h, guest, query("Allowed.Example.", miekg.TypeA), miekg.RcodeSuccess, 1)
	if want := []string{"172.16.0.9 allowed.example 198.51.100.1"}; !slices.Equal(g.answered, want) {
		t.Errorf("guard was shown %q, want %q", g.answered, want)
	}
	// Another name is refused without being asked upstream: nothing about
	// it leaves the host.
	ask(t, h, guest, query("exfil.attacker.example.", miekg.TypeTXT), miekg.RcodeRefused, 0)
	if len(fwd.asked) != 1 {
		t.Errorf("forwarded %q, want only the allowed name", fwd.asked)
	}
	// .vm names are not the guard's business.
	ask(t, h, guest, query("peer.vm.", miekg.TypeA), miekg.RcodeSuccess, 1)

	// When the guard cannot open the addresses, the guest does not get them.
	g.err = errors.New("nft failed")
	ask(t, h, guest, query("allowed.example.", miekg.TypeA), miekg.RcodeServerFailure, 0)
}

func TestAddrsOf(t *testing.T) {
	rrs := func(lines ...string) *miekg.Msg {
		m := new(miekg.Msg)
		for _, l := range lines {
			rr, err := miekg.NewRR(l)
			if err != nil {
				t.Fatal(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		return m
	}
	cases := []struct {
		what string
		resp *miekg.Msg
		want []Resolved
	}{
		{"direct", rrs("a.example. 300 IN A 203.0.113.1", "A.EXAMPLE. 60 IN A 203.0.113.2"),
			[]Resolved{{netip.MustParseAddr("203.0.113.1"), 300}, {netip.MustParseAddr("203.0.113.2"), 60}}},
		{"through aliases, least TTL", rrs("a.example. 30 IN CNAME b.example.", "b.example. 300 IN CNAME c.cdn.", "c.cdn. 600 IN A 203.0.113.3"),
			[]Resolved{{netip.MustParseAddr("203.0.113.3"), 30}}},
		{"records of other names are ignored", rrs("evil.example. 300 IN A 10.0.0.1", "a.example. 300 IN AAAA 2001:db8::1"), nil},
		{"an alias loop ends", rrs("a.example. 1 IN CNAME b.example.", "b.example. 1 IN CNAME a.example."), nil},
	}
	for _, c := range cases {
		if got := AddrsOf(c.resp, "a.example"); !slices.Equal(got, c.want) {
			t.Errorf("%s: AddrsOf = %v, want %v", c.what, got, c.want)
		}
	}
}
