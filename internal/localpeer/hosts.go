package localpeer

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Hosts decides which Host headers a front-end answers. A page on another
// site can point its own DNS name at 127.0.0.1 (DNS rebinding) and then
// read the answers as same-origin; its requests still carry its own name
// in Host, so only names known to be the front-end's are accepted.
type Hosts struct {
	name     string // the configured host when it is a DNS name, lowercased
	loopback bool   // the front-end listens on loopback only
	anyIP    bool   // it listens on every interface: any IP literal is its
	ip       netip.Addr
}

// NewHosts is the policy of a front-end listening on addr, host:port.
func NewHosts(addr string) (Hosts, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return Hosts{}, fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		if ip.IsUnspecified() {
			return Hosts{anyIP: true}, nil
		}
		return Hosts{ip: ip, loopback: ip.IsLoopback()}, nil
	}
	if host == "" {
		return Hosts{anyIP: true}, nil
	}
	name := normName(host)
	return Hosts{name: name, loopback: name == "localhost"}, nil
}

func normName(h string) string { return strings.ToLower(strings.TrimSuffix(h, ".")) }

// Loopback reports whether the front-end listens on loopback only.
func (p Hosts) Loopback() bool { return p.loopback }

// Allows reports whether a request's Host names the front-end: localhost
// or a loopback address always (it is reachable there, or the request
// could not have arrived with it), the configured name or address, and
// any IP address when it listens on every interface. IP literals cannot
// be rebound, so accepting them there opens nothing.
func (p Hosts) Allows(hostHeader string) bool {
	host := hostHeader
	if h, _, err := net.SplitHostPort(hostHeader); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return false
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		return ip.IsLoopback() || p.anyIP || ip == p.ip
	}
	name := normName(host)
	return name == "localhost" || (p.name != "" && name == p.name)
}

// crossOrigin is the standard library's check of Sec-Fetch-Site and
// Origin against Host, for requests that are not GET, HEAD or OPTIONS.
var crossOrigin = http.NewCrossOriginProtection()

// CrossOrigin says why a state-changing request is refused as coming
// from another origin (a page of another site, or one without an origin),
// or "" when it may go on. what names the front-end's own pages.
func CrossOrigin(r *http.Request, what string) string {
	if r.Header.Get("Origin") == "null" {
		return "cross-origin request refused: it came from a page without an origin"
	}
	if err := crossOrigin.Check(r); err != nil {
		return "cross-origin request refused: only " + what + " may change things"
	}
	return ""
}
