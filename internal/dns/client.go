package dns

import (
	"context"
	"fmt"
	"net/netip"

	miekg "github.com/miekg/dns"
)

// LookupA asks server (host:port) over UDP for the IPv4 addresses of
// name, without going through the host's resolver.
func LookupA(ctx context.Context, server, name string) ([]netip.Addr, error) {
	m := new(miekg.Msg).SetQuestion(miekg.Fqdn(name), miekg.TypeA)
	r, _, err := new(miekg.Client).ExchangeContext(ctx, m, server)
	if err != nil {
		return nil, err
	}
	if r.Rcode != miekg.RcodeSuccess {
		return nil, fmt.Errorf("%s answered %s for %s", server, miekg.RcodeToString[r.Rcode], name)
	}
	var out []netip.Addr
	for _, rr := range r.Answer {
		if a, ok := rr.(*miekg.A); ok {
			if ip, ok := netip.AddrFromSlice(a.A); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out, nil
}
