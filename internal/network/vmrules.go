package network

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// A VM's own objects in banger's tables, all named after its tap: in the
// bridge table the chain that binds the tap to the guest's MAC and
// address; in the inet table, for the allow policy only, the chain of its
// allowed destinations and two sets of destinations its DNS answers
// allowed (one for any port, one keyed by address, protocol and port).
// Its entries in the shared maps and sets carry the tap's name as their
// comment, which is how they are found again.
func vmChain(tap string) string        { return "vm-" + tap }
func vmResolvedAny(tap string) string  { return "vm-" + tap + "-any" }
func vmResolvedPort(tap string) string { return "vm-" + tap + "-port" }

// isVMName reports whether a chain or set name is a VM's own.
func isVMName(name string) bool {
	return strings.HasPrefix(name, "vm-") || strings.HasPrefix(name, "__")
}

// resolvedPortKey is the key type of the per-port resolved set.
var resolvedPortKey = nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService)

func resolvedSets(t *nftables.Table, tap string) []*nftables.Set {
	return []*nftables.Set{
		{Table: t, Name: vmResolvedAny(tap), KeyType: nftables.TypeIPAddr, HasTimeout: true},
		{Table: t, Name: vmResolvedPort(tap), KeyType: resolvedPortKey, Concatenation: true, HasTimeout: true},
	}
}

// bridgeVMRules bind a tap to its guest: frames with another source MAC
// are dropped, ARP passes only with the guest's MAC and address as
// sender, IPv4 only from the guest's address, and nothing else (IPv6,
// VLAN tags, other protocols) passes at all.
func bridgeVMRules(mac net.HardwareAddr, ip netip.Addr) []ruleSpec {
	return []ruleSpec{
		{exprs: []exprs{etherSaddr(expr.CmpOpNeq, mac), drop}},
		{exprs: []exprs{etherType(unix.ETH_P_ARP), networkBytes(8, mac), networkBytes(14, ip.AsSlice()), accept}},
		{exprs: []exprs{etherType(unix.ETH_P_IP), networkBytes(ipSaddr, ip.AsSlice()), accept}},
		{exprs: []exprs{drop}},
	}
}

// allowVMRules are the allow policy's chain: each listed CIDR (with its
// port, over tcp and udp), then what DNS answers added, then nothing.
func allowVMRules(tap string, p Policy) []ruleSpec {
	var rules []ruleSpec
	for _, r := range p.Allow {
		if r.Domain != "" {
			continue
		}
		dst := ipAddr(ipDaddr, expr.CmpOpEq, r.Prefix)
		if r.Port == 0 {
			rules = append(rules, ruleSpec{exprs: []exprs{dst, accept}})
			continue
		}
		for _, proto := range []byte{unix.IPPROTO_TCP, unix.IPPROTO_UDP} {
			rules = append(rules, ruleSpec{exprs: []exprs{dst, l4(proto, r.Port), accept}})
		}
	}
	return append(rules,
		ruleSpec{exprs: []exprs{ipLookup(ipDaddr, vmResolvedAny(tap), false), accept}},
		ruleSpec{exprs: []exprs{{
			&expr.Payload{DestRegister: 8, Base: expr.PayloadBaseNetworkHeader, Offset: ipDaddr, Len: 4},
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 9},
			&expr.Payload{DestRegister: 10, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Lookup{SourceRegister: 8, SetName: vmResolvedPort(tap)},
		}, accept}},
		ruleSpec{exprs: []exprs{drop}},
	)
}

// RulesPerVM returns how many nftables rules a VM with policy p adds to
// banger's tables: its anti-spoofing chain in the bridge table and, for
// the allow policy, its chain of destinations. The other policies share
// chains and cost the VM only set elements.
func RulesPerVM(p Policy) int {
	n := 0
	if p.Effective() != PolicyNone {
		n += len(bridgeVMRules(make(net.HardwareAddr, 6), netip.IPv4Unspecified()))
	}
	if p.Effective() == PolicyAllow {
		n += len(allowVMRules("bg-x", p))
	}
	return n
}

// egressVerdict is what the egress map sends a guest's forwarded traffic
// to under policy p.
func egressVerdict(tap string, p Policy) *expr.Verdict {
	switch p.Effective() {
	case PolicyOpen:
		return &expr.Verdict{Kind: expr.VerdictAccept}
	case PolicyAllow:
		return &expr.Verdict{Kind: expr.VerdictJump, Chain: vmChain(tap)}
	case PolicyInternet:
		return &expr.Verdict{Kind: expr.VerdictJump, Chain: chainInternet}
	}
	return &expr.Verdict{Kind: expr.VerdictDrop}
}

// vmComment is the comment of a VM's entries: its tap, a digest of
// everything its rules depend on, so that an unchanged policy is
// recognised, and a digest of its allowed domains, so that the addresses
// DNS allowed stay while the domains do.
func vmComment(c Config, g Guest, p Policy) string {
	all := sha256.Sum256(fmt.Appendf(nil, "%s %s %s %s %s", c.Bridge, c.Subnet, g.MAC, g.IP, p))
	var doms strings.Builder
	for _, r := range p.Domains() {
		doms.WriteString(r.String() + ",")
	}
	d := sha256.Sum256([]byte(doms.String()))
	return g.Tap + " " + hex.EncodeToString(all[:8]) + " " + hex.EncodeToString(d[:8])
}

// sameDomains reports whether two VM comments name the same domains.
func sameDomains(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	return len(fa) == 3 && len(fb) == 3 && fa[2] == fb[2]
}

// tapOfComment returns the tap a VM entry's comment names.
func tapOfComment(comment string) string {
	tap, _, _ := strings.Cut(comment, " ")
	return tap
}
