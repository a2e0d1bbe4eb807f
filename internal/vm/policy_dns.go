package vm

import (
	"context"
	"net/netip"
	"time"

	miekg "github.com/miekg/dns"

	"banger/internal/dns"
	"banger/internal/network"
	"banger/internal/store"
)

// guestNet is what the DNS guard knows of one guest.
type guestNet struct {
	tap    string
	policy network.Policy
}

// setGuest records g's policy for the guard. The caller holds policyMu.
func (d *vmDNS) setGuest(g network.Guest, p network.Policy) {
	if d.guests == nil {
		d.guests = make(map[netip.Addr]guestNet)
	}
	d.guests[g.IP] = guestNet{tap: g.Tap, policy: p}
}

// replaceGuests makes the guard know exactly the running guests of vms.
func (d *vmDNS) replaceGuests(vms []store.VM) {
	m := make(map[netip.Addr]guestNet)
	for _, v := range vms {
		if v.Tap == "" {
			continue
		}
		if g, p, err := guestOf(v); err == nil {
			m[g.IP] = guestNet{tap: g.Tap, policy: p}
		}
	}
	d.policyMu.Lock()
	d.guests = m
	d.policyMu.Unlock()
}

func (d *vmDNS) guest(a netip.Addr) (guestNet, bool) {
	d.policyMu.Lock()
	defer d.policyMu.Unlock()
	g, ok := d.guests[a]
	return g, ok
}

// allowDNS wraps the subnet check of the DNS server: a guest under none
// gets no answer at all.
func (d *vmDNS) allowDNS(inner func(netip.Addr) bool) func(netip.Addr) bool {
	return func(a netip.Addr) bool {
		if g, ok := d.guest(a); ok && g.policy.Mode == network.PolicyNone {
			return false
		}
		return inner(a)
	}
}

// allowResolvedTimeout bounds the opening of answered addresses, which
// the guest waits for.
const allowResolvedTimeout = 5 * time.Second

// policyGuard is the DNS server's dns.Guard: guests under allow= are
// answered only for the domains they list, and the addresses they get are
// opened for them first, on the ports the rules name.
type policyGuard struct{ n *netAttach }

var _ dns.Guard = policyGuard{}

// domainPorts returns the ports of p's rules for name; none when p lists
// no such domain. Port 0 means any.
func domainPorts(p network.Policy, name string) []uint16 {
	var ports []uint16
	for _, r := range p.Domains() {
		if r.Domain == name {
			ports = append(ports, r.Port)
		}
	}
	return ports
}

func (g policyGuard) Admit(client netip.Addr, name string) bool {
	gn, ok := g.n.dns.guest(client)
	if !ok || gn.policy.Mode != network.PolicyAllow {
		return true
	}
	return len(domainPorts(gn.policy, name)) > 0
}

func (g policyGuard) Answered(ctx context.Context, client netip.Addr, name string, resp *miekg.Msg) error {
	d := &g.n.dns
	d.policyMu.Lock() // the rules must not change under the answer
	defer d.policyMu.Unlock()
	gn, ok := d.guests[client]
	if !ok || gn.policy.Mode != network.PolicyAllow {
		return nil
	}
	ports := domainPorts(gn.policy, name)
	addrs := dns.AddrsOf(resp, name)
	if len(ports) == 0 || len(addrs) == 0 {
		return nil
	}
	ttl := addrs[0].TTL
	var dests []netip.AddrPort
	for _, a := range addrs {
		ttl = min(ttl, a.TTL)
		for _, p := range ports {
			dests = append(dests, netip.AddrPortFrom(a.Addr, p))
		}
	}
	nc, err := g.n.netConfig()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, allowResolvedTimeout)
	defer cancel()
	return g.n.client.AllowResolved(ctx, nc, gn.tap, dests, time.Duration(ttl)*time.Second)
}
