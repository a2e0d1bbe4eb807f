package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"banger/internal/errdefs"
)

// legacyBridgeAlias marked banger's bridge before bridges had owners;
// such a bridge counts as root's.
const legacyBridgeAlias = "banger"

// bridgeAlias marks the bridge as banger's and names the user whose it is
// (`ip link` shows "alias banger uid=1000"). Only the owner's helper
// changes or removes it.
func bridgeAlias(uid int) string { return fmt.Sprintf("banger uid=%d", uid) }

// bridgeOwner reads the owner from a bridge's alias; ok is false when the
// alias is not banger's.
func bridgeOwner(alias string) (uid int, ok bool) {
	if alias == legacyBridgeAlias {
		return 0, true
	}
	rest, found := strings.CutPrefix(alias, "banger uid=")
	n, err := strconv.ParseUint(rest, 10, 31)
	if !found || err != nil || bridgeAlias(int(n)) != alias {
		return 0, false
	}
	return int(n), true
}

// ipForwardPath is the sysctl net.ipv4.ip_forward.
const ipForwardPath = "/proc/sys/net/ipv4/ip_forward"

// EnsureBridge makes sure the bridge exists, carries the gateway address
// with the subnet's prefix (and no other IPv4 address), and is up; that
// IPv4 forwarding is on; and that the nftables table "banger" masquerades
// the subnet. Each part is changed only when it differs, so a second call
// changes nothing. It refuses a subnet that overlaps an address or route
// of another interface, and an existing interface of the bridge's name
// that banger did not create.
func EnsureBridge(c Config) error { return ensureBridge(myUID(), c) }

func ensureBridge(caller int, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	br, err := ownBridge(caller, c.Bridge)
	if err != nil {
		return err
	}
	if err := checkOverlap(c, br); err != nil {
		return err
	}
	mac, err := net.ParseMAC(GuestMAC(c.Gateway()))
	if err != nil {
		return fmt.Errorf("bridge %s: %w", c.Bridge, err)
	}
	if br == nil {
		if br, err = createBridge(caller, c.Bridge, mac); err != nil {
			return err
		}
	}
	if err := configureBridge(caller, c, br, mac); err != nil {
		return err
	}
	if err := enableForwarding(); err != nil {
		return err
	}
	return ensureTables(caller, c)
}

// ownBridge returns the caller's banger bridge called name, or nil when no
// interface has that name. An interface of that name that is not a bridge
// banger made for the caller is an error.
func ownBridge(caller int, name string) (netlink.Link, error) {
	l, err := linkByName(name)
	if err != nil || l == nil {
		return nil, err
	}
	if l.Type() != "bridge" {
		return nil, errdefs.FailedPrecondition("interface %s exists and is not a bridge (it is a %s); set bridge_name in config.toml to a name no interface uses", name, l.Type())
	}
	owner, ok := bridgeOwner(l.Attrs().Alias)
	if !ok {
		return nil, errdefs.FailedPrecondition("bridge %s exists but is not marked as banger's (`ip link` shows no \"alias %s\"); set bridge_name in config.toml to a name no interface uses, or, if banger made it and was interrupted, remove it with `ip link delete %s`", name, bridgeAlias(caller), name)
	}
	if owner != caller {
		return nil, errdefs.FailedPrecondition("bridge %s is the banger bridge of uid %d, not of uid %d; set bridge_name and bridge_subnet in config.toml to a bridge and subnet of your own", name, owner, caller)
	}
	return l, nil
}

// createBridge makes the bridge and marks it as banger's. The kernel
// ignores an alias given at creation, so it is set just after; if that
// fails the bridge is removed again.
func createBridge(caller int, name string, mac net.HardwareAddr) (netlink.Link, error) {
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, HardwareAddr: mac}}
	err := netlink.LinkAdd(br)
	if errors.Is(err, unix.EEXIST) { // made meanwhile, by a concurrent call or someone else
		l, err := ownBridge(caller, name)
		if err == nil && l == nil {
			err = fmt.Errorf("creating bridge %s: it appeared and vanished meanwhile; try again", name)
		}
		return l, err
	}
	if err != nil {
		return nil, fmt.Errorf("creating bridge %s: %w", name, err)
	}
	l, err := netlink.LinkByName(name)
	if err == nil {
		err = netlink.LinkSetAlias(l, bridgeAlias(caller))
	}
	if err != nil {
		_ = netlink.LinkDel(br) // undo; the error that matters is err
		return nil, fmt.Errorf("creating bridge %s: %w", name, err)
	}
	return netlink.LinkByName(name)
}

// configureBridge sets the bridge's alias, MAC, address, ARP settings and
// state, each only when it differs. A fixed MAC keeps the bridge from
// taking the lowest MAC of its ports, which would change the gateway's MAC
// under running guests.
func configureBridge(caller int, c Config, br netlink.Link, mac net.HardwareAddr) error {
	if want := bridgeAlias(caller); br.Attrs().Alias != want { // a bridge of an older banger
		if err := netlink.LinkSetAlias(br, want); err != nil {
			return fmt.Errorf("marking bridge %s as uid %d's: %w", c.Bridge, caller, err)
		}
	}
	if br.Attrs().HardwareAddr.String() != mac.String() {
		if err := netlink.LinkSetHardwareAddr(br, mac); err != nil {
			return fmt.Errorf("setting the MAC of bridge %s: %w", c.Bridge, err)
		}
	}
	if err := ensureGatewayAddr(c, br); err != nil {
		return err
	}
	if err := proxyGuestsARP(c.Bridge); err != nil {
		return err
	}
	if br.Attrs().RawFlags&unix.IFF_UP == 0 {
		if err := netlink.LinkSetUp(br); err != nil {
			return fmt.Errorf("bringing bridge %s up: %w", c.Bridge, err)
		}
	}
	return nil
}

// ensureGatewayAddr leaves the gateway, with the subnet's prefix, as the
// bridge's only IPv4 address; others are left over from an older subnet.
func ensureGatewayAddr(c Config, br netlink.Link) error {
	want := netip.PrefixFrom(c.Gateway(), c.Subnet.Bits())
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(br, netlink.FAMILY_V4) })
	if err != nil {
		return fmt.Errorf("listing addresses of bridge %s: %w", c.Bridge, err)
	}
	found := false
	for _, a := range addrs {
		if ipNetPrefix(a.IPNet) == want {
			found = true
			continue
		}
		if err := netlink.AddrDel(br, &a); err != nil {
			return fmt.Errorf("removing old address %s from bridge %s: %w", a.IPNet, c.Bridge, err)
		}
	}
	if found {
		return nil
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: want.Addr().AsSlice(), Mask: net.CIDRMask(want.Bits(), 32)}}
	if err := netlink.AddrAdd(br, addr); err != nil {
		return fmt.Errorf("adding address %s to bridge %s: %w", want, c.Bridge, err)
	}
	return nil
}

// checkOverlap refuses a subnet that the host already uses: an address of
// another interface in it, a route (in any routing table) to a range that
// overlaps it, or a route whose gateway or preferred source lies in it.
// A default route overlaps every subnet, so for it the gateway is what
// counts: a bridge holding the default gateway's address would take the
// host's traffic to the world, resolver, NTP and metadata service
// included. Taking over any narrower route's range would cut the host off
// from those hosts.
func checkOverlap(c Config, br netlink.Link) error {
	brIndex := -1
	if br != nil {
		brIndex = br.Attrs().Index
	}
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(nil, netlink.FAMILY_V4) })
	if err != nil {
		return fmt.Errorf("listing host addresses: %w", err)
	}
	for _, a := range addrs {
		if p := ipNetPrefix(a.IPNet); a.LinkIndex != brIndex && p.Overlaps(c.Subnet) {
			return overlapError(c, fmt.Sprintf("address %s of %s", p, linkName(a.LinkIndex)))
		}
	}
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return fmt.Errorf("listing host routes: %w", err)
	}
	for _, r := range routes {
		if r.LinkIndex == brIndex && brIndex >= 0 {
			continue
		}
		if what := routeOverlap(r, c.Subnet); what != "" {
			return overlapError(c, what)
		}
	}
	return nil
}

// routeOverlap describes how route r uses subnet, or is "".
func routeOverlap(r netlink.Route, subnet netip.Prefix) string {
	dst := ipNetPrefix(r.Dst)
	name := "route to " + dst.String()
	if !dst.IsValid() || dst.Bits() == 0 {
		dst, name = netip.Prefix{}, "default route"
	}
	if r.Table != unix.RT_TABLE_MAIN && r.Table != 0 {
		name += fmt.Sprintf(" in routing table %d", r.Table)
	}
	if dst.IsValid() && dst.Overlaps(subnet) {
		return fmt.Sprintf("%s on %s", name, linkName(r.LinkIndex))
	}
	gws := []net.IP{r.Gw}
	for _, hop := range r.MultiPath {
		gws = append(gws, hop.Gw)
	}
	for _, gw := range gws {
		if a, ok := netip.AddrFromSlice(gw); ok && subnet.Contains(a.Unmap()) {
			return fmt.Sprintf("%s via gateway %s", name, a.Unmap())
		}
	}
	if a, ok := netip.AddrFromSlice(r.Src); ok && subnet.Contains(a.Unmap()) {
		return fmt.Sprintf("%s from source address %s", name, a.Unmap())
	}
	return ""
}

func overlapError(c Config, what string) error {
	return errdefs.FailedPrecondition("bridge subnet %s overlaps the host's %s; set bridge_subnet in config.toml to an unused range", c.Subnet, what)
}

// linkName names an interface index for messages.
func linkName(index int) string {
	if l, err := netlink.LinkByIndex(index); err == nil {
		return l.Attrs().Name
	}
	return fmt.Sprintf("interface %d", index)
}

// ipNetPrefix converts a netlink IPv4 network to a prefix; the zero Prefix
// for nil or non-IPv4 input.
func ipNetPrefix(n *net.IPNet) netip.Prefix {
	if n == nil {
		return netip.Prefix{}
	}
	a, ok := netip.AddrFromSlice(n.IP)
	ones, bits := n.Mask.Size()
	if !ok || !a.Unmap().Is4() || bits == 0 {
		return netip.Prefix{}
	}
	if bits == 128 {
		ones -= 96
	}
	return netip.PrefixFrom(a.Unmap(), ones)
}

// proxyGuestsARP has the host answer the guests' ARP requests for one
// another with the bridge's MAC, at once (proxy_arp_pvlan, proxy_delay 0),
// and send them no ICMP redirects: frames are never bridged from tap to
// tap, so guests reach each other through the host's routing, where the
// policy rules and conntrack see the traffic.
func proxyGuestsARP(bridge string) error {
	for _, s := range []struct{ path, value string }{
		{"/proc/sys/net/ipv4/conf/" + bridge + "/proxy_arp_pvlan", "1"},
		{"/proc/sys/net/ipv4/neigh/" + bridge + "/proxy_delay", "0"},
		{"/proc/sys/net/ipv4/conf/" + bridge + "/send_redirects", "0"},
	} {
		if err := ensureSysctl(s.path, s.value); err != nil {
			return fmt.Errorf("setting up ARP on bridge %s: %w", bridge, err)
		}
	}
	return nil
}

// ensureSysctl writes value to the sysctl file path unless it holds it.
func ensureSysctl(path, value string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(b)) == value {
		return nil
	}
	return os.WriteFile(path, []byte(value+"\n"), 0o644)
}

// enableForwarding sets net.ipv4.ip_forward to 1 unless it already is.
func enableForwarding() error {
	b, err := os.ReadFile(ipForwardPath)
	if err != nil {
		return fmt.Errorf("reading net.ipv4.ip_forward: %w", err)
	}
	if strings.TrimSpace(string(b)) == "1" {
		return nil
	}
	if err := os.WriteFile(ipForwardPath, []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("enabling IPv4 forwarding (net.ipv4.ip_forward=1): %w", err)
	}
	return nil
}

// retryDump runs a netlink dump again when the kernel reports that the
// table changed while it was being read.
func retryDump[T any](dump func() (T, error)) (T, error) {
	for tries := 1; ; tries++ {
		v, err := dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) || tries == 5 {
			return v, err
		}
	}
}
