package dns

import (
	"net/netip"
	"strings"

	miekg "github.com/miekg/dns"
)

// Resolved is one IPv4 address an answer gives a name, with the time it
// may be used for.
type Resolved struct {
	Addr netip.Addr
	TTL  uint32 // seconds: the least TTL of the records that led to it
}

// maxCNAMEs bounds the aliases AddrsOf follows.
const maxCNAMEs = 8

// AddrsOf returns the IPv4 addresses resp's answer section gives name
// (lower case, with or without the trailing dot): its A records, and
// those of the names it is an alias of, following CNAMEs in the answer
// up to maxCNAMEs deep. Records about other names are ignored, so an
// answer cannot slip in an address for a name that was not asked.
func AddrsOf(resp *miekg.Msg, name string) []Resolved {
	owner := strings.ToLower(miekg.Fqdn(name))
	ttl := ^uint32(0)
	var out []Resolved
	for range maxCNAMEs + 1 {
		next := ""
		for _, rr := range resp.Answer {
			h := rr.Header()
			if h.Class != miekg.ClassINET || !strings.EqualFold(h.Name, owner) {
				continue
			}
			switch rr := rr.(type) {
			case *miekg.A:
				if a, ok := netip.AddrFromSlice(rr.A); ok && a.Unmap().Is4() {
					out = append(out, Resolved{Addr: a.Unmap(), TTL: min(ttl, h.Ttl)})
				}
			case *miekg.CNAME:
				if next == "" {
					next, ttl = strings.ToLower(miekg.Fqdn(rr.Target)), min(ttl, h.Ttl)
				}
			}
		}
		if next == "" || len(out) > 0 {
			return out
		}
		owner = next
	}
	return out
}
