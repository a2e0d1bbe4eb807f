package network

import (
	"net"
	"net/netip"

	"banger/internal/errdefs"
	"banger/internal/network/netpolicy"
)

// The network policy is its own package, so that the CLI can read one
// without linking netlink and nftables; these names are the policy as
// this package applies it.
type (
	// PolicyMode says what a VM may reach on the network.
	PolicyMode = netpolicy.Mode
	// AllowRule is one destination of an allow list.
	AllowRule = netpolicy.AllowRule
	// Policy is a VM's network policy.
	Policy = netpolicy.Policy
)

// The network policies a VM can have; see netpolicy.
const (
	PolicyInternet = netpolicy.Internet
	PolicyNone     = netpolicy.None
	PolicyAllow    = netpolicy.Allow
	PolicyOpen     = netpolicy.Open
)

// ParsePolicy reads a policy as netpolicy.Parse does.
func ParsePolicy(s string) (Policy, error) { return netpolicy.Parse(s) }

// Guest binds one VM's tap to its addresses.
type Guest struct {
	Tap string     `json:"tap"`
	MAC string     `json:"mac"` // "06:00:..." as the VM record holds it
	IP  netip.Addr `json:"ip"`
}

// check validates g against the subnet of c: a banger tap name, a unicast
// MAC and a guest address of the subnet.
func (g Guest) check(c Config) error {
	if err := checkTapName(g.Tap); err != nil {
		return err
	}
	if _, err := guestMAC(g.MAC); err != nil {
		return err
	}
	if !g.IP.Is4() || !c.Subnet.Contains(g.IP) || g.IP == c.Gateway() || g.IP == c.Subnet.Masked().Addr() || g.IP == broadcast(c.Subnet) {
		return errdefs.InvalidArgument("guest address %s is not a guest address of %s", g.IP, c.Subnet)
	}
	return nil
}

// guestMAC parses a guest's MAC, which must be a 6-byte unicast address.
func guestMAC(s string) (net.HardwareAddr, error) {
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 || mac[0]&1 != 0 || mac.String() == "00:00:00:00:00:00" {
		return nil, errdefs.InvalidArgument("guest MAC %q is not a unicast Ethernet address", s)
	}
	return mac, nil
}
