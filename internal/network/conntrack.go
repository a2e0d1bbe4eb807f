package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// dropRefusedFlows deletes the conntrack entries of guest g that policy p
// refuses, so that a connection the old policy let through loses its
// "established" pass at once instead of when it ends. What p allows
// stays: a TCP connection conntrack no longer knows is picked up again by
// its next packet and judged by the rules.
func dropRefusedFlows(c Config, g Guest, p Policy) error {
	local, err := hostAddrs()
	if err != nil {
		return err
	}
	f := flowFilter{c: c, g: g, p: p, local: local}
	if _, err := netlink.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, f); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("dropping the connections the network policy of %s refuses: %w", g.Tap, err)
	}
	return nil
}

// hostAddrs returns the host's IPv4 addresses.
func hostAddrs() (map[netip.Addr]bool, error) {
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(nil, netlink.FAMILY_V4) })
	if err != nil {
		return nil, fmt.Errorf("listing host addresses: %w", err)
	}
	out := map[netip.Addr]bool{}
	for _, a := range addrs {
		if p := ipNetPrefix(a.IPNet); p.IsValid() {
			out[p.Addr()] = true
		}
	}
	return out, nil
}

type flowFilter struct {
	c     Config
	g     Guest
	p     Policy
	local map[netip.Addr]bool
}

// MatchConntrackFlow selects the flows to delete.
func (f flowFilter) MatchConntrackFlow(flow *netlink.ConntrackFlow) bool {
	t := flow.Forward
	return !permitsFlow(f.c, f.g, f.p, f.local, addrOf(t.SrcIP), addrOf(t.DstIP), t.Protocol, t.DstPort)
}

func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// permitsFlow reports whether policy p of guest g lets a connection from
// src to dst (protocol proto, port dport) start; connections that do not
// involve the guest are not its policy's business. It mirrors the rules:
// a guest reaches the host only for DNS on the gateway, and only the
// host, other guests or, for open guests, anyone start connections to it.
func permitsFlow(c Config, g Guest, p Policy, local map[netip.Addr]bool, src, dst netip.Addr, proto uint8, dport uint16) bool {
	mode := p.Effective()
	if src != g.IP && dst != g.IP {
		return true
	}
	switch {
	case mode == PolicyNone:
		return false
	case mode == PolicyOpen:
		return true
	case src != g.IP: // started towards the guest
		return local[src] || src == c.Gateway() || c.Subnet.Contains(src)
	case local[dst] || dst == c.Gateway():
		return dst == c.Gateway() && dport == 53 && (proto == unix.IPPROTO_TCP || proto == unix.IPPROTO_UDP)
	case mode == PolicyInternet:
		return c.Subnet.Contains(dst) || !inAny(blockedRanges, dst)
	}
	for _, r := range p.Allow {
		if r.Domain == "" && r.Prefix.Contains(dst) && (r.Port == 0 || r.Port == dport && (proto == unix.IPPROTO_TCP || proto == unix.IPPROTO_UDP)) {
			return true
		}
	}
	return false
}

func inAny(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
