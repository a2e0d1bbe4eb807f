package network

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"banger/internal/errdefs"
)

// TestHelperLeavesOtherUsersAlone: the helper acting for one user
// neither changes nor removes another user's bridge, taps or tables,
// while that user's own network works beside them.
func TestHelperLeavesOtherUsersAlone(t *testing.T) {
	needNetns(t)
	setupBridge(t, testConfig) // root's
	rootTap := TapName("root1")
	if err := EnsureTap(testConfig, rootTap, 0); err != nil {
		t.Fatalf("EnsureTap: %v", err)
	}
	rootGuest := Guest{Tap: rootTap, MAC: "06:00:ac:10:00:05", IP: netip.MustParseAddr("172.16.0.5")}
	if err := SetPolicy(testConfig, rootGuest, Policy{Mode: PolicyInternet}); err != nil {
		t.Fatalf("SetPolicy: %v", err)
	}
	snapshot := func() string {
		return run(t, "ip", "-j", "link", "show", "dev", "banger0") + showLink(t, "banger0").Alias + run(t, "ip", "-j", "link", "show", "dev", rootTap) + nftRules(t)
	}
	before := snapshot()

	const other = 4242
	mine := Config{Bridge: "banger1", Subnet: netip.MustParsePrefix("10.42.0.0/24")}
	setupBridgeAs(t, other, mine)
	refused := []struct {
		what string
		err  error
	}{
		{"EnsureBridge of root's bridge", ensureBridge(other, testConfig)},
		{"EnsureTap on root's bridge", ensureTap(other, testConfig, TapName("other1"), other, false)},
		{"DeleteTap of root's tap", deleteTap(other, rootTap)},
		{"EnsureTap of root's tap on its own bridge", ensureTap(other, mine, rootTap, other, false)},
		{"SetPolicy of root's guest", setPolicy(other, testConfig, rootGuest, Policy{Mode: PolicyOpen})},
		{"SetPolicy naming root's tap on its own bridge", setPolicy(other, mine, Guest{Tap: rootTap, MAC: rootGuest.MAC, IP: netip.MustParseAddr("10.42.0.5")}, Policy{Mode: PolicyNone})},
		{"AllowResolved for root's guest", allowResolved(other, testConfig, rootTap, []netip.AddrPort{labPublic}, MinResolvedTTL)},
		{"RouteDNS on root's bridge", routeDNS(other, testConfig)},
		{"Teardown of root's bridge", teardown(other, testConfig)},
	}
	for _, r := range refused {
		if !errors.Is(r.err, errdefs.ErrFailedPrecondition) || !strings.Contains(r.err.Error(), "uid 0") {
			t.Errorf("%s as uid %d = %v, want failed_precondition naming uid 0", r.what, other, r.err)
		}
	}
	if err := teardown(other, mine); err != nil {
		t.Fatalf("Teardown of its own bridge as uid %d: %v", other, err)
	}
	if after := snapshot(); after != before {
		t.Errorf("uid %d's helper changed root's network:\nbefore %s\nafter  %s", other, before, after)
	}
	if linkExists(t, "banger1") || nftTable(t, "inet", TableName(other, "banger1")) != "" {
		t.Errorf("uid %d's own bridge or tables survived its Teardown", other)
	}
}

// TestLegacyBridgeIsRoots: a bridge and table from before bridges had
// owners count as root's: root's helper adopts the bridge and drops the
// shared table; another user's helper touches neither.
func TestLegacyBridgeIsRoots(t *testing.T) {
	needNetns(t)
	addLink(t, &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "banger0"}})
	run(t, "ip", "link", "set", "dev", "banger0", "alias", legacyBridgeAlias)
	run(t, "nft", "add", "table", "ip", legacyTableName)

	if err := ensureBridge(4242, testConfig); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("EnsureBridge of the old bridge as uid 4242 = %v, want failed_precondition", err)
	}
	if nftTable(t, "ip", legacyTableName) == "" {
		t.Errorf("uid 4242's helper removed the old shared table")
	}
	setupBridge(t, testConfig)
	if alias := showLink(t, "banger0").Alias; alias != bridgeAlias(0) {
		t.Errorf("root's old bridge has alias %q after EnsureBridge, want %q", alias, bridgeAlias(0))
	}
	if nftTable(t, "ip", legacyTableName) != "" {
		t.Errorf("the old shared table survived root's EnsureBridge")
	}
}
