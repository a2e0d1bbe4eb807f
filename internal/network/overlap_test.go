package network

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"banger/internal/errdefs"
)

// TestEnsureBridgeRefusesRoutedSubnets: a subnet that holds the default
// route's gateway, or that a route of any table leads to, is refused,
// though no address of the host lies in it.
func TestEnsureBridgeRefusesRoutedSubnets(t *testing.T) {
	needNetns(t)
	wan := addUnrelated(t, "wan0")
	if err := netlink.LinkSetUp(wan); err != nil {
		t.Fatal(err)
	}
	routes := []*netlink.Route{
		{LinkIndex: wan.Attrs().Index, Gw: net.ParseIP("10.66.0.1"), Flags: int(netlink.FLAG_ONLINK)}, // default via 10.66.0.1 onlink
		{LinkIndex: wan.Attrs().Index, Dst: mustIPNet("10.55.0.0/16"), Table: 100},
		{LinkIndex: wan.Attrs().Index, Dst: mustIPNet("192.168.77.0/24")},
	}
	for _, r := range routes {
		if err := netlink.RouteAdd(r); err != nil {
			t.Fatalf("adding route %+v: %v", r, err)
		}
	}
	tests := []struct{ subnet, want string }{
		{"10.66.0.0/24", "default route via gateway 10.66.0.1"},
		{"10.66.0.0/16", "default route via gateway 10.66.0.1"},
		{"10.55.3.0/24", "route to 10.55.0.0/16 in routing table 100 on wan0"},
		{"192.168.0.0/16", "route to 192.168.77.0/24 on wan0"},
	}
	for _, tt := range tests {
		err := EnsureBridge(Config{Bridge: "banger0", Subnet: netip.MustParsePrefix(tt.subnet)})
		if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "set bridge_subnet") {
			t.Errorf("EnsureBridge(%s) = %v, want failed_precondition naming the %s", tt.subnet, err, tt.want)
		}
		if linkExists(t, "banger0") {
			t.Fatalf("banger0 was created on %s despite the overlap", tt.subnet)
		}
	}
	setupBridge(t, Config{Bridge: "banger0", Subnet: netip.MustParsePrefix("10.67.0.0/24")}) // beside all of them
}

func mustIPNet(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}
