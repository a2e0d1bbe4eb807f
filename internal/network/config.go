package network

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"banger/internal/errdefs"
)

// Config names the bridge and the IPv4 subnet the VMs live in. It is the
// network part of banger's config.toml (bridge_name, bridge_subnet).
type Config struct {
	Bridge string       `json:"bridge"`
	Subnet netip.Prefix `json:"subnet"`
}

// Subnet prefix lengths banger accepts: /16 leaves room for 65533 guests,
// /30 for exactly one.
const (
	minPrefixBits = 16
	maxPrefixBits = 30
)

// SubnetRanges are the ranges a bridge subnet must lie in: the RFC 1918
// private ranges and the shared address space of RFC 6598. Anything else
// could capture the host's traffic to public, link-local or multicast
// addresses.
var SubnetRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
}

// inSubnetRanges reports whether p lies wholly in one of SubnetRanges.
func inSubnetRanges(p netip.Prefix) bool {
	for _, r := range SubnetRanges {
		if r.Bits() <= p.Bits() && r.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// Gateway returns the host's address on the bridge: the first host address
// of the subnet. It is the zero Addr when the subnet is not valid.
func (c Config) Gateway() netip.Addr {
	if !c.Subnet.IsValid() {
		return netip.Addr{}
	}
	return c.Subnet.Masked().Addr().Next()
}

// Validate checks that the bridge name is a usable interface name and that
// the subnet is an IPv4 network, /16 to /30, written with its network
// address, inside one of SubnetRanges. Errors are
// errdefs.InvalidArgument.
func (c Config) Validate() error {
	if err := checkIfname(c.Bridge); err != nil {
		return errdefs.InvalidArgument("bridge name: %v; set bridge_name in config.toml, like \"banger0\"", err)
	}
	if strings.HasPrefix(c.Bridge, TapPrefix) {
		return errdefs.InvalidArgument("bridge name %q starts with %q, which banger keeps for its taps; set bridge_name in config.toml to another name", c.Bridge, TapPrefix)
	}
	p := c.Subnet
	if !p.IsValid() || !p.Addr().Is4() {
		return errdefs.InvalidArgument("bridge subnet %q is not an IPv4 subnet; set bridge_subnet in config.toml, like \"172.16.0.0/24\"", p)
	}
	if p.Bits() < minPrefixBits || p.Bits() > maxPrefixBits {
		return errdefs.InvalidArgument("bridge subnet %s: prefix /%d is out of range; use /%d to /%d", p, p.Bits(), minPrefixBits, maxPrefixBits)
	}
	if m := p.Masked(); m != p {
		return errdefs.InvalidArgument("bridge subnet %s has host bits set; use the network address, %s", p, m)
	}
	if !inSubnetRanges(p) {
		return errdefs.InvalidArgument("bridge subnet %s is not a private range; set bridge_subnet in config.toml to a subnet within 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10", p)
	}
	if gw := c.Gateway(); !p.Contains(gw) || gw == broadcast(p) {
		return errdefs.InvalidArgument("bridge subnet %s has no room for a gateway address", p)
	}
	return nil
}

// checkIfname applies the kernel's rules for interface names (at most 15
// bytes, not "." or "..", no '/', ':' or white space), narrowed to
// characters that every tool handles: letters, digits, '_', '.' and '-'.
func checkIfname(s string) error {
	if s == "" {
		return errors.New("it is empty")
	}
	if len(s) > 15 {
		return fmt.Errorf("%q is longer than 15 bytes", s)
	}
	if s == "." || s == ".." {
		return fmt.Errorf("%q is not an interface name", s)
	}
	for i := 0; i < len(s); i++ {
		if !ifnameByte(s[i]) {
			return fmt.Errorf("%q has a character other than letters, digits, '_', '.' and '-'", s)
		}
	}
	return nil
}

func ifnameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// broadcast returns the last address of an IPv4 prefix.
func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := be32(a) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func be32(a [4]byte) uint32 {
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}
