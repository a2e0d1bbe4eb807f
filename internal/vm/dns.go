package vm

import (
	"context"
	"errors"
	"net/netip"
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
	// vm_policy.go).
	policyMu sync.Mutex
	guests   map[netip.Addr]guestNet
}

// syncDNS makes the DNS server match the store: each VM that holds an
// address answers to its name, and the server listens on the gateway
// while any VM has a tap (so the bridge is up), and only then. The caller
// holds netMu.
func (m *Manager) syncDNS(ctx context.Context) {
	vms, err := m.store.ListVMs(ctx)
	if err != nil {
		m.log.Warn("listing VMs for .vm names", "err", err)
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
	m.dns.records.Replace(names)
	m.dns.replaceGuests(vms)
	if !bridgeUp {
		m.stopDNS()
		return
	}
	nc, err := m.netConfig()
	if err != nil {
		m.log.Warn("serving .vm names", "err", err)
		return
	}
	if m.startDNS(nc) {
		m.routeDNS(ctx, nc)
	}
}

// startDNS listens on the gateway unless it already does, and reports
// whether it started listening. A failure is logged: VMs work without
// names, and their guests then use the host's resolvers.
func (m *Manager) startDNS(nc network.Config) bool {
	d := &m.dns
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
		Guard:   policyGuard{m},
		Log:     m.log,
	})
	srv, err := dns.Listen([]string{addr}, h)
	if err != nil {
		m.log.Warn(".vm names are off: bangerd cannot serve DNS on the bridge; guests use the host's resolvers instead", "err", err)
		return false
	}
	d.srv, d.addr = srv, gw
	m.log.Info("serving .vm names", "addr", addr)
	return true
}

// routeDNS asks systemd-resolved, where it runs, to send .vm questions
// to the server.
func (m *Manager) routeDNS(ctx context.Context, nc network.Config) {
	err := m.net.RouteDNS(ctx, nc)
	switch {
	case err == nil:
		m.log.Info("systemd-resolved routes .vm to the bridge", "bridge", nc.Bridge)
	case errors.Is(err, dns.ErrNoResolved) || strings.Contains(err.Error(), dns.ErrNoResolved.Error()):
		m.log.Info("no systemd-resolved to route .vm names on this host; see docs/dns-routing.md", "err", err)
	default:
		m.log.Warn("routing .vm through systemd-resolved; see docs/dns-routing.md", "err", err)
	}
}

// stopDNS closes the server's sockets, if open.
func (m *Manager) stopDNS() {
	d := &m.dns
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.srv == nil {
		return
	}
	if err := d.srv.Close(); err != nil {
		m.log.Warn("closing the DNS server", "err", err)
	}
	d.srv = nil
	m.log.Info("stopped serving .vm names")
}

// guestResolvers are the DNS servers a guest is given: bangerd's own on
// the gateway while it listens there, which answers .vm names and
// forwards the rest, else the host's.
func (m *Manager) guestResolvers(gw netip.Addr) []netip.Addr {
	d := &m.dns
	d.mu.Lock()
	serving := d.srv != nil && d.addr == gw
	d.mu.Unlock()
	if serving {
		return []netip.Addr{gw}
	}
	return hostResolvers()
}
