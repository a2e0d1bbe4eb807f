package network

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// TestPolicies checks, for each policy, what a guest reaches: the world's
// public, LAN and metadata listeners, the host's services (on the gateway
// and on another address), DNS on the gateway and another guest; and who
// reaches it.
func TestPolicies(t *testing.T) {
	l := newLab(t)
	a := l.guest("bg-ga", "172.16.0.2")
	b := l.guest("bg-gb", "172.16.0.3")
	l.setPolicy(b, "internet")
	guestA := netip.AddrPortFrom(a.IP, 8080)
	guestB := netip.AddrPortFrom(b.IP, 8080)
	// A tap that no policy bound yet gets nothing through.
	expectReach(t, "guest a without a policy", a.ns, map[netip.AddrPort]bool{labPublic: false, labGwDNS: false, guestB: false})

	tests := []struct {
		policy string
		out    map[netip.AddrPort]bool // what a reaches
		in     bool                    // whether the host, b and the world reach a
		world  bool
	}{
		{"internet", map[netip.AddrPort]bool{labPublic: true, labLAN: false, labMetadata: false, labHostWAN: false, labGwSvc: false, labGwDNS: true, guestB: true}, true, false},
		{"none", map[netip.AddrPort]bool{labPublic: false, labLAN: false, labMetadata: false, labHostWAN: false, labGwSvc: false, labGwDNS: false, guestB: false}, false, false},
		{"allow=203.0.113.0/24:8080,169.254.169.254", map[netip.AddrPort]bool{labPublic: true, labLAN: false, labMetadata: true, labHostWAN: false, labGwSvc: false, labGwDNS: true, guestB: false}, true, false},
		{"allow=192.168.77.10:9999,example.com", map[netip.AddrPort]bool{labPublic: false, labLAN: false, labMetadata: false, labHostWAN: false, labGwSvc: false, labGwDNS: true, guestB: false}, true, false},
		{"open", map[netip.AddrPort]bool{labPublic: true, labLAN: true, labMetadata: true, labHostWAN: true, labGwSvc: true, labGwDNS: true, guestB: true}, true, true},
	}
	for _, tt := range tests {
		l.setPolicy(a, tt.policy)
		expectReach(t, "guest a ("+tt.policy+")", a.ns, tt.out)
		expectReach(t, "the host", netns.None(), map[netip.AddrPort]bool{guestA: tt.in, guestB: true})
		expectReach(t, "guest b", b.ns, map[netip.AddrPort]bool{guestA: tt.in})
		expectReach(t, "the world", l.world, map[netip.AddrPort]bool{guestA: tt.world, guestB: false})
	}
}

// TestAllowResolved: addresses DNS answered for an allowed domain become
// reachable, on the port the rule names.
func TestAllowResolved(t *testing.T) {
	l := newLab(t)
	a := l.guest("bg-ga", "172.16.0.2")
	l.setPolicy(a, "allow=example.com:8080,example.net")
	expectReach(t, "guest a", a.ns, map[netip.AddrPort]bool{labPublic: false, labLAN: false, labMetadata: false})

	if err := AllowResolved(l.c, a.Tap, []netip.AddrPort{labPublic, netip.AddrPortFrom(labLAN.Addr(), 0)}, MinResolvedTTL); err != nil {
		t.Fatalf("AllowResolved: %v", err)
	}
	expectReach(t, "guest a", a.ns, map[netip.AddrPort]bool{labPublic: true, labLAN: true, labMetadata: false})
	if err := AllowResolved(l.c, a.Tap, []netip.AddrPort{labPublic}, MinResolvedTTL); err != nil {
		t.Fatalf("AllowResolved again: %v", err)
	}
	if err := AllowResolved(l.c, a.Tap, []netip.AddrPort{labMetadata}, MinResolvedTTL); err == nil {
		t.Errorf("AllowResolved of %s succeeded; link-local addresses must never be allowed", labMetadata)
	}

	l.setPolicy(a, "allow=example.com:8080,example.net,10.9.9.9") // same domains: what DNS allowed stays
	expectReach(t, "guest a", a.ns, map[netip.AddrPort]bool{labPublic: true, labLAN: true})
	l.setPolicy(a, "allow=example.org") // other domains: it goes
	expectReach(t, "guest a", a.ns, map[netip.AddrPort]bool{labPublic: false, labLAN: false})

	l.setPolicy(a, "internet")
	if err := AllowResolved(l.c, a.Tap, []netip.AddrPort{labPublic}, MinResolvedTTL); err == nil || !strings.Contains(err.Error(), "not allow=") {
		t.Errorf("AllowResolved for a VM without an allow list = %v, want an error saying so", err)
	}
}

// TestPolicyChangeCutsConnections: a connection the old policy allowed and
// the new one refuses stops at once, though conntrack had it as
// established.
func TestPolicyChangeCutsConnections(t *testing.T) {
	l := newLab(t)
	a := l.guest("bg-ga", "172.16.0.2")
	l.setPolicy(a, "open")
	lan, err := connect(a.ns, netip.Addr{}, labLAN)
	if err != nil {
		t.Fatalf("open guest cannot reach the LAN: %v", err)
	}
	defer lan.Close()
	public, err := connect(a.ns, netip.Addr{}, labPublic)
	if err != nil {
		t.Fatalf("open guest cannot reach the public address: %v", err)
	}
	defer public.Close()

	l.setPolicy(a, "internet")
	if err := echo(lan, "still there?"); err == nil {
		t.Errorf("a connection to the LAN opened under open still works under internet")
	}
	if err := echo(public, "still there?"); err != nil {
		t.Errorf("a connection to a public address broke when the policy went from open to internet: %v", err)
	}
}

// TestSpoofedFramesDropped: a guest that takes another address or MAC
// loses its traffic; with its own it gets through again.
func TestSpoofedFramesDropped(t *testing.T) {
	l := newLab(t)
	a := l.guest("bg-ga", "172.16.0.2")
	b := l.guest("bg-gb", "172.16.0.3")
	l.setPolicy(a, "internet")
	l.setPolicy(b, "internet")
	expectReach(t, "guest a", a.ns, map[netip.AddrPort]bool{labPublic: true})

	// Another guest's address, and one nobody has.
	inNetns(t, a.ns, "adding addresses to guest a", func() error {
		eth, err := netlink.LinkByName(a.link)
		if err != nil {
			return err
		}
		for _, s := range []string{"172.16.0.3/32", "172.16.0.9/32"} {
			if err := netlink.AddrAdd(eth, mustAddr(s)); err != nil {
				return err
			}
		}
		return nil
	})
	for _, src := range []string{"172.16.0.3", "172.16.0.9"} {
		if c, err := connect(a.ns, netip.MustParseAddr(src), labGwDNS); err == nil {
			c.Close()
			t.Errorf("guest a reached %s from %s, which is not its address", labGwDNS, src)
		}
	}

	setMAC := func(mac string) {
		inNetns(t, a.ns, "setting guest a's MAC", func() error {
			eth, err := netlink.LinkByName(a.link)
			if err != nil {
				return err
			}
			hw, _ := net.ParseMAC(mac)
			return netlink.LinkSetHardwareAddr(eth, hw)
		})
	}
	setMAC("06:00:ac:10:00:63")
	expectReach(t, "guest a with another MAC", a.ns, map[netip.AddrPort]bool{labPublic: false, labGwDNS: false})
	setMAC(a.MAC)
	expectReach(t, "guest a with its own MAC again", a.ns, map[netip.AddrPort]bool{labPublic: true, labGwDNS: true})
}

// TestPolicyRulesGo: nothing of a VM is left once its tap goes, and
// nothing of banger once the bridge does; RulesPerVM is what a VM costs.
func TestPolicyRulesGo(t *testing.T) {
	l := newLab(t)
	a := l.guest("bg-ga", "172.16.0.2")
	before := countRules(t)
	for _, p := range []string{"internet", "open", "none", "allow=10.0.0.0/8,192.0.2.7:22,example.com"} {
		l.setPolicy(a, p)
		pol, _ := ParsePolicy(p)
		if got := countRules(t) - before; got != RulesPerVM(pol) {
			t.Errorf("policy %s added %d rules, RulesPerVM says %d", p, got, RulesPerVM(pol))
		}
		again := countRules(t)
		l.setPolicy(a, p)
		if countRules(t) != again {
			t.Errorf("setting policy %s again changed the rules", p)
		}
	}
	if err := removeVMRules(0, a.Tap); err != nil {
		t.Fatalf("removing the rules of %s: %v", a.Tap, err)
	}
	if rules := nftRules(t); strings.Contains(rules, a.Tap) || countRules(t) != before {
		t.Errorf("rules of %s left after its removal (%d rules, %d before):\n%s", a.Tap, countRules(t), before, rules)
	}
	expectReach(t, "guest a after its rules went", a.ns, map[netip.AddrPort]bool{labPublic: false})

	l.setPolicy(a, "allow=example.com")
	if err := Teardown(l.c); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if out := run(t, "nft", "list", "ruleset"); strings.Contains(out, "banger") {
		t.Errorf("banger's tables survived Teardown:\n%s", out)
	}
}

// TestDeleteTapRemovesItsRules: DeleteTap of a real tap takes the VM's
// rules with it.
func TestDeleteTapRemovesItsRules(t *testing.T) {
	needNetns(t)
	setupBridge(t, testConfig)
	tap := TapName("vm5")
	if err := EnsureTap(testConfig, tap, 0); err != nil {
		t.Fatalf("EnsureTap: %v", err)
	}
	p, _ := ParsePolicy("allow=example.com,10.1.0.0/16:22")
	if err := SetPolicy(testConfig, Guest{Tap: tap, MAC: "06:00:ac:10:00:05", IP: netip.MustParseAddr("172.16.0.5")}, p); err != nil {
		t.Fatalf("SetPolicy: %v", err)
	}
	if !strings.Contains(nftRules(t), tap) {
		t.Fatalf("SetPolicy left no trace of %s in the rules", tap)
	}
	if err := DeleteTap(tap); err != nil {
		t.Fatalf("DeleteTap: %v", err)
	}
	if rules := nftRules(t); strings.Contains(rules, tap) {
		t.Errorf("rules of %s survived DeleteTap:\n%s", tap, rules)
	}
}

// countRules counts the rules in root's tables for banger0.
func countRules(t *testing.T) int {
	t.Helper()
	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tbl := range []*nftables.Table{{Name: TableName(0, "banger0"), Family: nftables.TableFamilyINet}, {Name: TableName(0, "banger0"), Family: nftables.TableFamilyBridge}} {
		chains, err := chainNames(conn, tbl)
		if err != nil {
			t.Fatal(err)
		}
		for name := range chains {
			rules, err := conn.GetRules(tbl, &nftables.Chain{Name: name, Table: tbl})
			if err != nil {
				t.Fatal(err)
			}
			n += len(rules)
		}
	}
	return n
}

// TestPolicyOnABridgeWithoutTables: a bridge whose tables are gone (an
// older banger's, adopted after an upgrade) gets them back when a tap is
// made or a policy set on it.
func TestPolicyOnABridgeWithoutTables(t *testing.T) {
	needNetns(t)
	setupBridge(t, testConfig)
	if err := deleteTables(0, testConfig); err != nil {
		t.Fatal(err)
	}
	tap := TapName("vm6")
	if err := EnsureTap(testConfig, tap, 0); err != nil {
		t.Fatalf("EnsureTap without tables: %v", err)
	}
	if err := deleteTables(0, testConfig); err != nil {
		t.Fatal(err)
	}
	g := Guest{Tap: tap, MAC: "06:00:ac:10:00:06", IP: netip.MustParseAddr("172.16.0.6")}
	if err := SetPolicy(testConfig, g, Policy{Mode: PolicyInternet}); err != nil {
		t.Fatalf("SetPolicy without tables: %v", err)
	}
	if rules := nftRules(t); !strings.Contains(rules, "vm-"+tap) || !strings.Contains(rules, "masquerade") {
		t.Errorf("SetPolicy did not bring the tables back:\n%s", rules)
	}
}
