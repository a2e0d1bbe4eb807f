package vm

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"sync"

	"banger/internal/dns"
	"banger/internal/network"
)

// dnsPort is where bangerd answers for .vm names on the gateway address.
const dnsPort = 53

// vmDNS is bangerd's DNS server for .vm names: the records always, the
// sockets while the bridge is up. Its zero value serves nothing.
type vmDNS struct {
	records dns.Records

	mu   sync.Mutex
	srv  *dns.Server // nil while not listening
	addr netip.Addr  // where srv listens
	// listen overrides where the server binds, for tests; nil binds the
	// gateway's port 53.
	listen func(gw netip.Addr) string

	// policyMu orders changes of guests' rules with the DNS answers that
	// add to them; it guards guests, the running guests by address (see
	// policy_dns.go).
	policyMu sync.Mutex
	guests   map[netip.Addr]guestNet
}

// syncDNS makes the DNS server match the store: each VM that holds an
// address answers to its name, and the server listens on the gateway
// while any VM has a tap (so the bridge is up), and only then. The caller
// holds n.mu.
func (n *netAttach) syncDNS(ctx context.Context) {
	vms, err := n.store.ListVMs(ctx)
	if err != nil {
		n.log.Warn("listing VMs for .vm names", "err", err)
		return
	}
	names := make(map[string]netip.Addr, len(vms))
	bridgeUp := false
	for _, v := range vms {
		if a, err := netip.ParseAddr(v.IP); err == nil {
			names[v.Name] = a
		}
		bridgeUp = bridgeUp || v.Tap != ""
	}
	n.dns.records.Replace(names)
	n.dns.replaceGuests(vms)
	if !bridgeUp {
		n.stopDNS()
		return
	}
	nc, err := n.netConfig()
	if err != nil {
		n.log.Warn("serving .vm names", "err", err)
		return
	}
	if n.startDNS(nc) {
		n.routeDNS(ctx, nc)
	}
}

// startDNS listens on the gateway unless it already does, and reports
// whether it started listening. A failure is logged: VMs work without
// names, and their guests then use the host's resolvers.
func (n *netAttach) startDNS(nc network.Config) bool {
	d := &n.dns
	gw := nc.Gateway()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.srv != nil && d.addr == gw {
		return false
	}
	if d.srv != nil {
		_ = d.srv.Close()
		d.srv = nil
	}
	addr := netip.AddrPortFrom(gw, dnsPort).String()
	if d.listen != nil {
		addr = d.listen(gw)
	}
	h := dns.NewHandler(dns.Options{
		Lookup:  d.records.Lookup,
		Forward: &dns.Upstream{Servers: dns.HostServers(func(a netip.Addr) bool { return a == gw })},
		Allow:   d.allowDNS(dns.AllowFrom(nc.Subnet)),
		Guard:   policyGuard{n},
		Log:     n.log,
	})
	srv, err := dns.Listen([]string{addr}, h)
	if err != nil {
		n.log.Warn(".vm names are off: bangerd cannot serve DNS on the bridge; guests use the host's resolvers instead", "err", err)
		return false
	}
	d.srv, d.addr = srv, gw
	n.log.Info("serving .vm names", "addr", addr)
	return true
}

// routeDNS asks systemd-resolved, where it runs, to send .vm questions
// to the server.
func (n *netAttach) routeDNS(ctx context.Context, nc network.Config) {
	err := n.client.RouteDNS(ctx, nc)
	switch {
	case err == nil:
		n.log.Info("systemd-resolved routes .vm to the bridge", "bridge", nc.Bridge)
	case errors.Is(err, dns.ErrNoResolved) || strings.Contains(err.Error(), dns.ErrNoResolved.Error()):
		n.log.Info("no systemd-resolved to route .vm names on this host; see docs/dns-routing.md", "err", err)
	default:
		n.log.Warn("routing .vm through systemd-resolved; see docs/dns-routing.md", "err", err)
	}
}

// stopDNS closes the server's sockets, if open.
func (n *netAttach) stopDNS() {
	d := &n.dns
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.srv == nil {
		return
	}
	if err := d.srv.Close(); err != nil {
		n.log.Warn("closing the DNS server", "err", err)
	}
	d.srv = nil
	n.log.Info("stopped serving .vm names")
}

// guestResolvers are the DNS servers a guest is given: bangerd's own on
// the gateway while it listens there, which answers .vm names and
// forwards the rest, else the host's.
func (n *netAttach) guestResolvers(gw netip.Addr) []netip.Addr {
	d := &n.dns
	d.mu.Lock()
	serving := d.srv != nil && d.addr == gw
	d.mu.Unlock()
	if serving {
		return []netip.Addr{gw}
	}
	return hostResolvers()
}

// hostResolvers are the host's DNS servers a guest can reach through NAT:
// those in /etc/resolv.conf, or systemd-resolved's upstream ones when the
// host points at its local stub. Loopback servers are no use to a guest.
func hostResolvers() []netip.Addr {
	var out []netip.Addr
	for _, f := range []string{"/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 2 || fields[0] != "nameserver" {
				continue
			}
			a, err := netip.ParseAddr(fields[1])
			if err != nil || !a.Is4() || a.IsLoopback() {
				continue
			}
			out = append(out, a)
			if len(out) == 2 {
				return out
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return out
}
