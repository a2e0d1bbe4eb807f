package network

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"banger/internal/errdefs"
)

// PolicyMode says what a VM may reach on the network.
type PolicyMode string

// The network policies a VM can have.
const (
	// PolicyInternet, the default: public addresses through NAT, DNS on
	// the gateway and the other guests; no host services, no private,
	// shared, link-local, loopback or multicast destinations.
	PolicyInternet PolicyMode = "internet"
	// PolicyNone: nothing in or out on the tap, the host included.
	PolicyNone PolicyMode = "none"
	// PolicyAllow: only the listed destinations, DNS on the gateway, and
	// the addresses bangerd's DNS answered the guest for listed domains.
	PolicyAllow PolicyMode = "allow"
	// PolicyOpen: anything the host's forwarding allows, in and out; the
	// tap is still bound to the guest's MAC and address.
	PolicyOpen PolicyMode = "open"
)

// MaxAllowRules bounds an allow list: each entry costs a rule per VM.
const MaxAllowRules = 64

// AllowRule is one destination of an allow list.
type AllowRule struct {
	Prefix netip.Prefix // a CIDR (a bare address is a /32); zero when Domain is set
	Domain string       // a DNS name, lower case, no trailing dot; "" when Prefix is set
	Port   uint16       // 0 = every port; tcp and udp alike
}

// Policy is a VM's network policy.
type Policy struct {
	Mode  PolicyMode
	Allow []AllowRule // only for PolicyAllow
}

// policyForms is what ParsePolicy's errors say it accepts.
const policyForms = `use "internet", "none", "open" or "allow=LIST", where LIST is comma-separated CIDRs, addresses or domain names, each with an optional :PORT, like "allow=10.1.2.0/24,example.com:443,203.0.113.7:22"`

// ParsePolicy reads "internet", "none", "open" or
// "allow=10.1.2.0/24,example.com:443,203.0.113.7:22". The empty string is
// the default, internet. Errors are errdefs.InvalidArgument and say the
// accepted forms. ParsePolicy(p.String()) gives back p.
func ParsePolicy(s string) (Policy, error) {
	switch mode, list, hasList := strings.Cut(s, "="); {
	case s == "":
		return Policy{Mode: PolicyInternet}, nil
	case !hasList && (mode == string(PolicyInternet) || mode == string(PolicyNone) || mode == string(PolicyOpen)):
		return Policy{Mode: PolicyMode(mode)}, nil
	case hasList && mode == string(PolicyAllow):
		rules, err := parseAllowList(list)
		if err != nil {
			return Policy{}, err
		}
		return Policy{Mode: PolicyAllow, Allow: rules}, nil
	case mode == string(PolicyAllow):
		return Policy{}, errdefs.InvalidArgument("network policy %q lists no destinations; %s", s, policyForms)
	default:
		return Policy{}, errdefs.InvalidArgument("unknown network policy %q; %s", s, policyForms)
	}
}

func parseAllowList(list string) ([]AllowRule, error) {
	items := strings.Split(list, ",")
	if len(items) > MaxAllowRules {
		return nil, errdefs.InvalidArgument("network policy allows %d destinations; at most %d fit, so group addresses into CIDRs", len(items), MaxAllowRules)
	}
	rules := make([]AllowRule, 0, len(items))
	for _, item := range items {
		r, err := parseAllowRule(strings.TrimSpace(item))
		if err != nil {
			return nil, errdefs.InvalidArgument("network policy: allow %q: %v; %s", item, err, policyForms)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// parseAllowRule reads one "DEST[:PORT]", DEST being a CIDR, an IPv4
// address or a domain name.
func parseAllowRule(s string) (AllowRule, error) {
	dest, port := s, uint16(0)
	if strings.Count(s, ":") > 1 || strings.Contains(s, "[") {
		return AllowRule{}, fmt.Errorf("%q is not IPv4; guests have IPv4 only", s)
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		n, err := strconv.ParseUint(s[i+1:], 10, 16)
		if err != nil || n == 0 || s[i+1] == '+' || s[i+1] == '0' {
			return AllowRule{}, fmt.Errorf("port %q is not a number from 1 to 65535", s[i+1:])
		}
		dest, port = s[:i], uint16(n)
	}
	if dest == "" {
		return AllowRule{}, fmt.Errorf("no destination")
	}
	if looksNumeric(dest) {
		p, err := parseDestPrefix(dest)
		return AllowRule{Prefix: p, Port: port}, err
	}
	d, err := checkDomain(dest)
	return AllowRule{Domain: d, Port: port}, err
}

// looksNumeric reports whether s is made of digits, dots and a slash, so
// is meant as an address rather than a name.
func looksNumeric(s string) bool {
	return strings.Trim(s, "0123456789./") == ""
}

func parseDestPrefix(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, fmt.Errorf("%q is not an IPv4 CIDR", s)
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, fmt.Errorf("%q is not an IPv4 address", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q is not IPv4; guests have IPv4 only", s)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set; write %s", s, m)
	}
	return p, nil
}

// checkDomain accepts a DNS name of letters, digits and hyphens, returning
// it in lower case without a trailing dot.
func checkDomain(s string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(s, "."))
	if d == "" || len(d) > 253 {
		return "", fmt.Errorf("%q is not a domain name", s)
	}
	labels := strings.Split(d, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return "", fmt.Errorf("%q is not a domain name (labels of letters, digits and inner hyphens; no wildcards)", s)
		}
	}
	if looksNumeric(labels[len(labels)-1]) {
		return "", fmt.Errorf("%q is neither an IPv4 address nor a domain name", s)
	}
	return d, nil
}

// String gives the canonical form ParsePolicy reads; the zero Policy is
// "internet".
func (p Policy) String() string {
	switch p.Mode {
	case "":
		return string(PolicyInternet)
	case PolicyAllow:
		items := make([]string, len(p.Allow))
		for i, r := range p.Allow {
			items[i] = r.String()
		}
		return string(PolicyAllow) + "=" + strings.Join(items, ",")
	}
	return string(p.Mode)
}

// String gives "DEST[:PORT]", a /32 written as a bare address.
func (r AllowRule) String() string {
	dest := r.Domain
	if r.Domain == "" {
		dest = r.Prefix.String()
		if r.Prefix.IsSingleIP() {
			dest = r.Prefix.Addr().String()
		}
	}
	if r.Port != 0 {
		return dest + ":" + strconv.Itoa(int(r.Port))
	}
	return dest
}

// Domains returns the domain rules, for the DNS side.
func (p Policy) Domains() []AllowRule {
	var out []AllowRule
	for _, r := range p.Allow {
		if r.Domain != "" {
			out = append(out, r)
		}
	}
	return out
}

// mode returns the policy's mode, the default for the zero Policy.
func (p Policy) mode() PolicyMode {
	if p.Mode == "" {
		return PolicyInternet
	}
	return p.Mode
}

// MarshalText writes the policy in its String form, which is how it
// travels to the net helper.
func (p Policy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a policy with ParsePolicy.
func (p *Policy) UnmarshalText(b []byte) error {
	q, err := ParsePolicy(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// check validates a policy built in code rather than parsed.
func (p Policy) check() error {
	q, err := ParsePolicy(p.String())
	if err != nil {
		return err
	}
	if q.String() != p.String() || len(q.Allow) != len(p.Allow) {
		return errdefs.InvalidArgument("network policy %+v is not in canonical form", p)
	}
	for i := range q.Allow {
		if q.Allow[i] != p.Allow[i] {
			return errdefs.InvalidArgument("network policy %+v is not in canonical form", p)
		}
	}
	if p.Mode != PolicyAllow && len(p.Allow) > 0 {
		return errdefs.InvalidArgument("network policy %s carries an allow list", p.Mode)
	}
	return nil
}

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
