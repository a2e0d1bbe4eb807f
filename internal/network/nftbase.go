package network

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Names of the sets and chains in banger's tables. Per-VM chains and sets
// start with "vm-" (see vmChain) and are not listed here.
const (
	setEgress   = "egress"   // inet map: guest address -> what its traffic may do
	setOpen     = "open"     // inet set: addresses of guests with the open policy
	setPorts    = "ports"    // bridge map: tap -> its anti-spoofing chain, or drop
	setTaps     = "taps"     // bridge set: the taps on the bridge
	setIsolated = "isolated" // bridge set: taps of guests with the none policy

	chainFromGuests = "from-guests" // inet: forwarded traffic from the guests
	chainToGuests   = "to-guests"   // inet: forwarded traffic to them from elsewhere
	chainGuestHost  = "guest-host"  // inet: guest traffic to the host itself
	chainInternet   = "internet"    // inet: what the internet policy lets out
)

// blockedRanges are the destinations the internet policy refuses besides
// the host's own addresses: RFC 1918, shared (100.64/10), "this network",
// loopback, link-local (metadata services), multicast and the reserved
// range with the limited broadcast address.
var blockedRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"),
}

var (
	acceptPolicy         = nftables.ChainPolicyAccept
	bridgeFilterPriority = nftables.ChainPriorityRef(-200) // NF_BR_PRI_FILTER_BRIDGED
)

// baseTables returns the caller's two tables for c, without any VM in
// them.
//
// In the inet table, traffic from the bridge is sorted by where it goes:
// forwarded traffic from a guest is judged by its source address through
// the egress map (each guest's entry says what its policy lets out);
// forwarded traffic into the bridge from elsewhere passes only as a reply
// or to an open guest; guest traffic to the host itself gets DNS on the
// gateway, replies, and everything for open guests. A guest's source
// address can be trusted here because the bridge table has already
// dropped every frame whose addresses are not its tap's guest's.
//
// In the bridge table, frames from each tap go through the tap's own
// chain (the ports map), which lets through only ARP and IPv4 from the
// guest's MAC and address; EnsureTap enters a new tap as dropping
// everything until SetPolicy binds it to its guest. (The rules key on tap
// names rather than on the bridge's, since matching the bridge needs
// nft_meta_bridge, which not every kernel has.)
// Frames are never bridged from one tap to another: guests reach each
// other through the host, which answers their ARP for one another
// (proxy_arp_pvlan), so their traffic meets the inet rules and conntrack.
// Frames to taps of guests with the none policy are dropped.
//
// Every base chain accepts by default, so nothing but the bridge's traffic
// is ever dropped.
func baseTables(caller int, c Config) []tableSpec {
	inet, br := tables(caller, c.Bridge)
	return []tableSpec{inetTable(inet, c), bridgeTable(br, c)}
}

func inetTable(t *nftables.Table, c Config) tableSpec {
	subnet, gw, name := c.Subnet.Masked(), c.Gateway(), c.Bridge
	fromBridge := ifname(expr.MetaKeyIIFNAME, expr.CmpOpEq, name)
	toBridge := ifname(expr.MetaKeyOIFNAME, expr.CmpOpEq, name)
	base := func(name string, typ nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		return &nftables.Chain{Name: name, Table: t, Type: typ, Hooknum: hook, Priority: prio, Policy: &acceptPolicy}
	}
	regular := func(name string) *nftables.Chain { return &nftables.Chain{Name: name, Table: t} }

	internet := []ruleSpec{{comment: "banger: to other guests", exprs: []exprs{toBridge, accept}}}
	for _, p := range blockedRanges {
		internet = append(internet, ruleSpec{comment: "banger: not to " + p.String(), exprs: []exprs{ipv4, ipAddr(ipDaddr, expr.CmpOpEq, p), drop}})
	}
	internet = append(internet, ruleSpec{comment: "banger: to the world", exprs: []exprs{accept}})

	return tableSpec{
		table: t,
		sets: []*nftables.Set{
			{Table: t, Name: setEgress, IsMap: true, KeyType: nftables.TypeIPAddr, DataType: nftables.TypeVerdict},
			{Table: t, Name: setOpen, KeyType: nftables.TypeIPAddr},
		},
		chains: []chainSpec{
			{chain: regular(chainFromGuests), rules: []ruleSpec{
				{comment: "banger: replies", exprs: []exprs{established, accept}},
				{comment: "banger: each guest by its policy", exprs: []exprs{ipv4, ipLookup(ipSaddr, setEgress, true)}},
				{comment: "banger: nothing else", exprs: []exprs{drop}},
			}},
			{chain: regular(chainToGuests), rules: []ruleSpec{
				{comment: "banger: replies", exprs: []exprs{established, accept}},
				{comment: "banger: to open guests", exprs: []exprs{ipv4, ipLookup(ipDaddr, setOpen, false), accept}},
				{comment: "banger: nothing else", exprs: []exprs{drop}},
			}},
			{chain: regular(chainGuestHost), rules: []ruleSpec{
				{comment: "banger: replies", exprs: []exprs{established, accept}},
				{comment: "banger: DNS over udp on " + gw.String(), exprs: []exprs{ipv4, ipAddr(ipDaddr, expr.CmpOpEq, netip.PrefixFrom(gw, 32)), l4(unix.IPPROTO_UDP, 53), accept}},
				{comment: "banger: DNS over tcp on " + gw.String(), exprs: []exprs{ipv4, ipAddr(ipDaddr, expr.CmpOpEq, netip.PrefixFrom(gw, 32)), l4(unix.IPPROTO_TCP, 53), accept}},
				{comment: "banger: open guests", exprs: []exprs{ipv4, ipLookup(ipSaddr, setOpen, false), accept}},
				{comment: "banger: nothing else", exprs: []exprs{drop}},
			}},
			{chain: regular(chainInternet), rules: internet},
			{chain: base("postrouting", nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource), rules: []ruleSpec{{
				comment: fmt.Sprintf("banger: masquerade %s leaving through other interfaces than %s", subnet, name),
				exprs:   []exprs{ipv4, ipAddr(ipSaddr, expr.CmpOpEq, subnet), ifname(expr.MetaKeyOIFNAME, expr.CmpOpNeq, name), {&expr.Counter{}, &expr.Masq{}}},
			}}},
			{chain: base("forward", nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter), rules: []ruleSpec{
				{comment: "banger: from " + name, exprs: []exprs{fromBridge, jump(chainFromGuests)}},
				{comment: "banger: into " + name, exprs: []exprs{toBridge, jump(chainToGuests)}},
			}},
			{chain: base("input", nftables.ChainTypeFilter, nftables.ChainHookInput, nftables.ChainPriorityFilter), rules: []ruleSpec{
				{comment: "banger: from " + name + " to the host", exprs: []exprs{fromBridge, jump(chainGuestHost)}},
			}},
		},
	}
}

func bridgeTable(t *nftables.Table, c Config) tableSpec {
	name := c.Bridge
	base := func(name string, hook *nftables.ChainHook) *nftables.Chain {
		return &nftables.Chain{Name: name, Table: t, Type: nftables.ChainTypeFilter, Hooknum: hook, Priority: bridgeFilterPriority, Policy: &acceptPolicy}
	}
	tapIn := func(key expr.MetaKey, set string, isMap bool) exprs {
		return exprs{&expr.Meta{Key: key, Register: 1}, &expr.Lookup{SourceRegister: 1, SetName: set, IsDestRegSet: isMap}}
	}
	return tableSpec{
		table: t,
		sets: []*nftables.Set{
			{Table: t, Name: setPorts, IsMap: true, KeyType: nftables.TypeIFName, DataType: nftables.TypeVerdict},
			{Table: t, Name: setTaps, KeyType: nftables.TypeIFName},
			{Table: t, Name: setIsolated, KeyType: nftables.TypeIFName},
		},
		chains: []chainSpec{
			{chain: base("prerouting", nftables.ChainHookPrerouting), rules: []ruleSpec{
				{comment: "banger: frames from each tap of " + name + " by its guest", exprs: []exprs{tapIn(expr.MetaKeyIIFNAME, setPorts, true)}},
			}},
			{chain: base("forward", nftables.ChainHookForward), rules: []ruleSpec{
				{comment: "banger: no frames from tap to tap on " + name, exprs: []exprs{tapIn(expr.MetaKeyIIFNAME, setTaps, false), drop}},
			}},
			{chain: base("postrouting", nftables.ChainHookPostrouting), rules: []ruleSpec{
				{comment: "banger: nothing to isolated guests on " + name, exprs: []exprs{tapIn(expr.MetaKeyOIFNAME, setIsolated, false), drop}},
			}},
		},
	}
}
