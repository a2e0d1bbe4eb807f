package network

import (
	"fmt"
	"net/netip"
	"strings"

	"banger/internal/errdefs"
)

// GuestMAC returns the MAC address of the guest with the given IPv4
// address: 06:00 followed by the four bytes of the address, e.g.
// 06:00:AC:10:00:02 for 172.16.0.2. The 06 marks it as locally
// administered and unicast, so it cannot clash with a real card's. For an
// IPv6 address the last four bytes are used.
func GuestMAC(ip netip.Addr) string {
	b := ip.Unmap().As16()
	return fmt.Sprintf("06:00:%02X:%02X:%02X:%02X", b[12], b[13], b[14], b[15])
}

// KernelIPArg returns the ip= kernel argument that configures the guest's
// eth0 statically, in the form the kernel and systemd-network-generator
// read:
//
//	ip=<client>::<gw>:<netmask>:<hostname>:eth0:off[:<dns0>[:<dns1>]]
//
// Only the first two IPv4 DNS servers are used, as that is all the format
// holds. A hostname that cannot appear in the argument (one with ':' or
// white space) is left out; VM names are DNS labels, which always fit.
func KernelIPArg(guest, gw netip.Addr, prefix int, hostname string, dns []netip.Addr) string {
	if strings.ContainsAny(hostname, ": \t\n\r") {
		hostname = ""
	}
	fields := []string{
		guest.Unmap().String(), "", gw.Unmap().String(), netmask(prefix), hostname, "eth0", "off",
	}
	n := 0
	for _, d := range dns {
		if d = d.Unmap(); d.Is4() && n < 2 {
			fields = append(fields, d.String())
			n++
		}
	}
	return "ip=" + strings.Join(fields, ":")
}

// netmask renders an IPv4 prefix length as a dotted mask, 24 as
// 255.255.255.0. Lengths outside 0..32 are clamped.
func netmask(bits int) string {
	bits = max(0, min(32, bits))
	m := ^uint32(0) << (32 - bits) // a shift by 32 gives 0
	return fmt.Sprintf("%d.%d.%d.%d", byte(m>>24), byte(m>>16), byte(m>>8), byte(m))
}

// Allocate returns the lowest guest address of the subnet that is not in
// used, skipping the network address, the gateway and the broadcast
// address. It fails with errdefs.FailedPrecondition when every address is
// taken.
func Allocate(c Config, used []netip.Addr) (netip.Addr, error) {
	if err := c.Validate(); err != nil {
		return netip.Addr{}, err
	}
	taken := make(map[netip.Addr]bool, len(used))
	for _, a := range used {
		taken[a.Unmap()] = true
	}
	gw, last := c.Gateway(), broadcast(c.Subnet)
	for a := gw.Next(); a.IsValid() && a != last; a = a.Next() {
		if !taken[a] {
			return a, nil
		}
	}
	return netip.Addr{}, errdefs.FailedPrecondition(
		"no free guest address in %s: all %d are in use; stop or delete a VM, or set a larger bridge_subnet in config.toml",
		c.Subnet, guestCapacity(c.Subnet))
}

// guestCapacity is the number of guest addresses in a valid subnet: all
// but the network, gateway and broadcast addresses.
func guestCapacity(p netip.Prefix) int {
	return 1<<(32-p.Bits()) - 3
}
