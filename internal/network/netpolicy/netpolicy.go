// Package netpolicy is a VM's network policy: what the VM may reach, read
// from the --network flag and network_policy in config.toml. It is apart
// from package network, which applies a policy with netlink and nftables,
// so that the CLI can check a policy without linking those.
package netpolicy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"banger/internal/errdefs"
)

// Mode says what a VM may reach on the network.
type Mode string

// The network policies a VM can have.
const (
	// Internet, the default: public addresses through NAT, DNS on
	// the gateway and the other guests; no host services, no private,
	// shared, link-local, loopback or multicast destinations.
	Internet Mode = "internet"
	// None: nothing in or out on the tap, the host included.
	None Mode = "none"
	// Allow: only the listed destinations, DNS on the gateway, and
	// the addresses bangerd's DNS answered the guest for listed domains.
	Allow Mode = "allow"
	// Open: anything the host's forwarding allows, in and out; the
	// tap is still bound to the guest's MAC and address.
	Open Mode = "open"
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
	Mode  Mode
	Allow []AllowRule // only for Allow
}

// policyForms is what Parse's errors say it accepts.
const policyForms = `use "internet", "none", "open" or "allow=LIST", where LIST is comma-separated CIDRs, addresses or domain names, each with an optional :PORT, like "allow=10.1.2.0/24,example.com:443,203.0.113.7:22"`

// Parse reads "internet", "none", "open" or
// "allow=10.1.2.0/24,example.com:443,203.0.113.7:22". The empty string is
// the default, internet. Errors are errdefs.InvalidArgument and say the
// accepted forms. Parse(p.String()) gives back p.
func Parse(s string) (Policy, error) {
	switch mode, list, hasList := strings.Cut(s, "="); {
	case s == "":
		return Policy{Mode: Internet}, nil
	case !hasList && (mode == string(Internet) || mode == string(None) || mode == string(Open)):
		return Policy{Mode: Mode(mode)}, nil
	case hasList && mode == string(Allow):
		rules, err := parseAllowList(list)
		if err != nil {
			return Policy{}, err
		}
		return Policy{Mode: Allow, Allow: rules}, nil
	case mode == string(Allow):
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

// String gives the canonical form Parse reads; the zero Policy is
// "internet".
func (p Policy) String() string {
	switch p.Mode {
	case "":
		return string(Internet)
	case Allow:
		items := make([]string, len(p.Allow))
		for i, r := range p.Allow {
			items[i] = r.String()
		}
		return string(Allow) + "=" + strings.Join(items, ",")
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

// Effective returns the policy's mode, the default for the zero Policy.
func (p Policy) Effective() Mode {
	if p.Mode == "" {
		return Internet
	}
	return p.Mode
}

// MarshalText writes the policy in its String form, which is how it
// travels to the net helper.
func (p Policy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a policy with Parse.
func (p *Policy) UnmarshalText(b []byte) error {
	q, err := Parse(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// Check validates a policy built in code rather than parsed.
func (p Policy) Check() error {
	q, err := Parse(p.String())
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
	if p.Mode != Allow && len(p.Allow) > 0 {
		return errdefs.InvalidArgument("network policy %s carries an allow list", p.Mode)
	}
	return nil
}
