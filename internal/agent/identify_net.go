package agent

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"banger/internal/agent/agentproto"
	"banger/internal/atomicfile"
)

// networkFile is where the restored guest's address goes: the name
// systemd-network-generator uses for ip= on a cold boot, so networkd
// applies it the same way, DNS included.
const networkFile = "/run/systemd/network/70-eth0.network"

// configureNetwork gives the interface its MAC and address. The address
// and route are set over netlink at once, any other address taken away.
// A clone of a warm template owns eth0 (networkd leaves it alone there,
// see guestabi.TemplateParam): it also turns IPv6 off on it, as networkd
// does on a cold boot, and tells resolved the DNS servers. Where networkd
// manages eth0 (a VM from a snapshot of a cold-booted one), it gets the
// file it should apply; see networkdApply.
func configureNetwork(ctx context.Context, id agentproto.Identity, later *laterSteps) error {
	if id.Address == "" {
		return nil
	}
	prefix, err := netip.ParsePrefix(id.Address)
	if err != nil {
		return fmt.Errorf("address %q: %w", id.Address, err)
	}
	link, err := netlink.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("finding eth0: %w", err)
	}
	if err := setMAC(link, id.MAC); err != nil {
		return err
	}
	managed := networkdManages(link)
	if !managed {
		noIPv6("eth0")
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return err
	}
	if managed {
		if err := os.MkdirAll(filepath.Dir(networkFile), 0o755); err != nil {
			return err
		}
		if err := atomicfile.WriteFileLater(networkFile, []byte(networkUnit(prefix, id)), 0o644); err != nil {
			return err
		}
	}
	if err := setAddress(link, prefix, id.Gateway); err != nil {
		return err
	}
	if !managed {
		return setResolvers(ctx, link, id.DNS)
	}
	return networkdApply(ctx, link, prefix, id, later)
}

// networkdApply has networkd apply networkFile, over D-Bus (which keeps
// the address and route, as they match it). When networkd already has
// the gateway and DNS servers, nothing it does changes what the guest
// uses: the reload is left to after the answer. Otherwise it is waited
// for.
func networkdApply(ctx context.Context, link netlink.Link, prefix netip.Prefix, id agentproto.Identity, later *laterSteps) error {
	apply := func(ctx context.Context) error {
		if err := reloadNetworkd(ctx); err != nil {
			return err
		}
		return waitAddress(ctx, link, prefix.Addr(), id.Gateway != "")
	}
	if sameResolution(configuredFile(linkState(link)), id) {
		later.add(identityStep{"networkd reload", func() error {
			return niced(pidsNamed("systemd-network"), quietly(ctx, apply))
		}})
		return nil
	}
	return apply(ctx)
}

// noIPv6 turns IPv6 off on the interface, best effort: banger's guests
// get IPv4 addresses only, and a link-local address would put traffic on
// the bridge that nothing asked for.
func noIPv6(ifname string) {
	_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+ifname+"/disable_ipv6", []byte("1\n"), 0o644)
}

// setMAC gives link the address mac, if the host sent one.
func setMAC(link netlink.Link, mac string) error {
	if mac == "" {
		return nil
	}
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return fmt.Errorf("MAC %q: %w", mac, err)
	}
	// virtio-net changes its address while up; taking the link down
	// would make networkd drop and redo its configuration later, after
	// we saw it applied.
	if err := netlink.LinkSetHardwareAddr(link, hw); err != nil {
		if err := netlink.LinkSetDown(link); err != nil {
			return err
		}
		if err := netlink.LinkSetHardwareAddr(link, hw); err != nil {
			return fmt.Errorf("setting MAC %s: %w", hw, err)
		}
	}
	return nil
}

// networkUnit is the .network file networkd applies to eth0.
func networkUnit(prefix netip.Prefix, id agentproto.Identity) string {
	var b strings.Builder
	b.WriteString("# Written by banger-vsock-agent for this VM, restored from a template.\n[Match]\nName=eth0\n\n[Link]\nRequiredForOnline=no\n\n[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n")
	fmt.Fprintf(&b, "Address=%s\n", prefix)
	if id.Gateway != "" {
		fmt.Fprintf(&b, "Gateway=%s\n", id.Gateway)
	}
	for _, d := range id.DNS {
		fmt.Fprintf(&b, "DNS=%s\n", d)
	}
	return b.String()
}

// setAddress puts prefix and the default route through gateway on link,
// taking away every other IPv4 address (the template's), then announces
// the address.
func setAddress(link netlink.Link, prefix netip.Prefix, gateway string) error {
	addr, err := netlink.ParseAddr(prefix.String())
	if err != nil {
		return err
	}
	if err := dropOtherAddrs(link, prefix.Addr()); err != nil {
		return err
	}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return err
	}
	if gateway != "" {
		gw := net.ParseIP(gateway)
		// As networkd sets a Gateway= route, so that it takes this one
		// for its own when it applies the file.
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw, Protocol: unix.RTPROT_STATIC}
		if err := netlink.RouteReplace(r); err != nil {
			return fmt.Errorf("default route via %s: %w", gw, err)
		}
	}
	announce(link, prefix.Addr())
	return nil
}

// dropOtherAddrs removes link's IPv4 addresses other than keep.
func dropOtherAddrs(link netlink.Link, keep netip.Addr) error {
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if got, ok := netip.AddrFromSlice(a.IP); ok && got.Unmap() == keep {
			continue
		}
		if err := netlink.AddrDel(link, &a); err != nil {
			return fmt.Errorf("removing the template's address %s: %w", a.IPNet, err)
		}
	}
	return nil
}

// announce broadcasts a gratuitous ARP for addr from link's MAC, best
// effort. The host may have started resolving the address while the guest
// was still taking it (a VM that had it a moment before, say); its pending
// lookup would fail seconds later and fail the connections queued on it
// ("No route to host"). The announcement answers it at once.
func announce(link netlink.Link, addr netip.Addr) {
	link, err := netlink.LinkByIndex(link.Attrs().Index) // its MAC as it is now
	if err != nil {
		return
	}
	mac := link.Attrs().HardwareAddr
	if !addr.Is4() || len(mac) != 6 {
		return
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
	if err != nil {
		return
	}
	defer unix.Close(fd)
	broadcast := [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: link.Attrs().Index, Halen: 6, Addr: broadcast}
	_ = unix.Sendto(fd, garpFrame(mac, addr), 0, to)
}

// garpFrame is an Ethernet frame holding a gratuitous ARP request: sender
// and target are both addr at mac.
func garpFrame(mac net.HardwareAddr, addr netip.Addr) []byte {
	ip := addr.As4()
	f := make([]byte, 0, 42)
	f = append(f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) // to everyone
	f = append(f, mac...)
	f = append(f, 0x08, 0x06)             // ARP
	f = append(f, 0x00, 0x01, 0x08, 0x00) // Ethernet, IPv4
	f = append(f, 6, 4, 0x00, 0x01)       // address sizes, request
	f = append(f, mac...)
	f = append(f, ip[:]...)
	f = append(f, 0, 0, 0, 0, 0, 0)
	return append(f, ip[:]...)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// hasAddr reports whether addr is on link.
func hasAddr(link netlink.Link, addr netip.Addr) bool {
	addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if got, ok := netip.AddrFromSlice(a.IP); ok && got.Unmap() == addr {
			return true
		}
	}
	return false
}

func hasDefaultRoute(link netlink.Link) bool {
	routes, err := netlink.RouteList(link, netlink.FAMILY_V4)
	if err != nil {
		return false
	}
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() {
			return true
		}
	}
	return false
}
