package vm

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	miekg "github.com/miekg/dns"

	"banger/internal/dns"
	"banger/internal/errdefs"
	"banger/internal/vmm"
)

func TestPolicyFollowsTheVM(t *testing.T) {
	ctx := context.Background()
	s, fn := dnsTestServer(t)
	box := newTestVM(t, s, "box")
	if got := fn.policies[box.Tap]; got != "internet" {
		t.Errorf("a new tap's policy = %q, want internet", got)
	}

	// A running VM's rules change before the call returns, and stay.
	v, err := s.SetNetwork(ctx, "box", "allow=example.com:443,10.1.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	if want := "allow=example.com:443,10.1.0.0/16"; fn.policies[box.Tap] != want || v.Network != want {
		t.Errorf("after vm network: rules %q, record %q; want %q", fn.policies[box.Tap], v.Network, want)
	}
	if got, _ := s.store.GetVM(ctx, "box"); got.Network != v.Network {
		t.Errorf("stored policy %q, want %q", got.Network, v.Network)
	}

	// A bad policy changes nothing.
	if _, err := s.SetNetwork(ctx, "box", "allow=*.example.com"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("a wildcard policy: %v, want invalid argument", err)
	}
	// Rules that cannot be applied are not recorded either.
	fn.policyErr = errors.New("nft: no")
	if _, err := s.SetNetwork(ctx, "box", "none"); err == nil {
		t.Error("a policy the rules refused was accepted")
	}
	fn.policyErr = nil
	if got, _ := s.store.GetVM(ctx, "box"); got.Network != v.Network {
		t.Errorf("after failures the stored policy is %q, want %q", got.Network, v.Network)
	}

	// A stopped VM keeps its new policy for its next start.
	s.net.release(ctx, &box)
	before := len(fn.policies)
	if _, err := s.SetNetwork(ctx, "box", "none"); err != nil {
		t.Fatal(err)
	}
	if len(fn.policies) != before {
		t.Errorf("rules set for a stopped VM: %v", fn.policies)
	}
	box, _ = s.store.GetVM(ctx, "box")
	if err := s.net.attach(ctx, &box, false); err != nil {
		t.Fatal(err)
	}
	if got := fn.policies[box.Tap]; got != "none" {
		t.Errorf("policy at the next start = %q, want none", got)
	}
}

// answerForwarder answers every A question with two addresses.
type answerForwarder struct{ asked []string }

func (f *answerForwarder) Forward(_ context.Context, req *miekg.Msg) (*miekg.Msg, error) {
	f.asked = append(f.asked, req.Question[0].Name)
	m := new(miekg.Msg).SetReply(req)
	for _, a := range []string{"203.0.113.1", "203.0.113.2"} {
		rr, _ := miekg.NewRR(req.Question[0].Name + " 120 IN A " + a)
		m.Answer = append(m.Answer, rr)
	}
	return m, nil
}

func TestDNSOpensAllowedDomains(t *testing.T) {
	ctx := context.Background()
	s, fn := dnsTestServer(t)
	vms := map[string]string{
		"lister":  "allow=Example.COM:443,example.com:80,10.1.0.0/16",
		"offline": "none",
		"web":     "internet",
	}
	addr := map[string]netip.Addr{}
	tap := map[string]string{}
	for name, policy := range vms {
		v := newTestVM(t, s, name)
		if _, err := s.SetNetwork(ctx, name, policy); err != nil {
			t.Fatal(err)
		}
		addr[name], tap[name] = netip.MustParseAddr(v.IP), v.Tap
	}
	fwd := &answerForwarder{}
	h := dns.NewHandler(dns.Options{
		Lookup: s.net.dns.records.Lookup, Forward: fwd,
		Allow: s.net.dns.allowDNS(dns.AllowFrom(netip.MustParsePrefix("172.16.0.0/24"))), Guard: policyGuard{s.net},
	})
	ask := func(client, name string, want int) {
		t.Helper()
		m := h.Answer(ctx, addr[client], new(miekg.Msg).SetQuestion(name, miekg.TypeA))
		if m.Rcode != want {
			t.Errorf("%s asking %s: %s, want %s", client, name, miekg.RcodeToString[m.Rcode], miekg.RcodeToString[want])
		}
	}

	// The listed name: its addresses are opened on the listed ports,
	// before the answer goes out.
	ask("lister", "example.com.", miekg.RcodeSuccess)
	want := []string{
		tap["lister"] + " 203.0.113.1:443 2m0s", tap["lister"] + " 203.0.113.1:80 2m0s",
		tap["lister"] + " 203.0.113.2:443 2m0s", tap["lister"] + " 203.0.113.2:80 2m0s",
	}
	if !slices.Equal(fn.opened, want) {
		t.Errorf("opened %q, want %q", fn.opened, want)
	}
	// Other names, subdomains included, are refused and never leave the
	// host; .vm names still answer.
	ask("lister", "www.example.com.", miekg.RcodeRefused)
	ask("lister", "data-to-leak.attacker.example.", miekg.RcodeRefused)
	ask("lister", "web.vm.", miekg.RcodeSuccess)
	// A guest under none gets no DNS; under internet, DNS opens nothing.
	ask("offline", "example.com.", miekg.RcodeRefused)
	ask("offline", "web.vm.", miekg.RcodeRefused)
	ask("web", "example.com.", miekg.RcodeSuccess)
	if len(fwd.asked) != 2 || len(fn.opened) != len(want) {
		t.Errorf("forwarded %q and opened %q; want two forwards and nothing more opened", fwd.asked, fn.opened)
	}

	// Once the policy changes, the old domain opens nothing.
	if _, err := s.SetNetwork(ctx, "lister", "allow=10.1.0.0/16"); err != nil {
		t.Fatal(err)
	}
	ask("lister", "example.com.", miekg.RcodeRefused)
}

// TestAdoptionReappliesPolicies checks that a restarted daemon installs
// the rules of the VMs it finds running again, and that its DNS guard
// knows their policies.
func TestAdoptionReappliesPolicies(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, fn := dnsTestServer(t)
	s.base = ctx
	s.layout.drivers = map[string]vmm.Driver{"qemu": fakeVMM{}}
	newTestVM(t, s, "box")
	if _, err := s.SetNetwork(ctx, "box", "allow=example.com:443"); err != nil {
		t.Fatal(err)
	}
	// The VM ran when its daemon stopped: a new daemon, with no rules
	// known and no guard entries, finds it.
	box, err := s.store.GetVM(ctx, "box")
	if err != nil {
		t.Fatal(err)
	}
	box.State = StateRunning
	if err := s.store.UpdateVM(ctx, box); err != nil {
		t.Fatal(err)
	}
	fn.policies = nil
	s.net.dns.guests = nil
	s.Adopt(ctx)
	if got := fn.policies[box.Tap]; got != "allow=example.com:443" {
		t.Errorf("after adoption the rules are %q, want allow=example.com:443", got)
	}
	if g, ok := s.net.dns.guest(netip.MustParseAddr(box.IP)); !ok || g.policy.String() != "allow=example.com:443" {
		t.Errorf("after adoption the DNS guard has %+v, %v", g, ok)
	}
}
