package web

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// hostPolicy decides which Host headers the UI answers. A page on another
// site can point its own DNS name at 127.0.0.1 (DNS rebinding) and then
// read our answers as same-origin; its requests still carry its own name in
// Host, so only names we know are ours are accepted.
type hostPolicy struct {
	name     string // the configured host when it is a DNS name, lowercased
	loopback bool   // the UI listens on loopback only
	anyIP    bool   // it listens on every interface: any IP literal is ours
	ip       netip.Addr
}

func newHostPolicy(addr string) (hostPolicy, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return hostPolicy{}, fmt.Errorf("web_listen_addr %q is not host:port: %w", addr, err)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		if ip.IsUnspecified() {
			return hostPolicy{anyIP: true}, nil
		}
		return hostPolicy{ip: ip, loopback: ip.IsLoopback()}, nil
	}
	if host == "" {
		return hostPolicy{anyIP: true}, nil
	}
	name := normName(host)
	return hostPolicy{name: name, loopback: name == "localhost"}, nil
}

func normName(h string) string { return strings.ToLower(strings.TrimSuffix(h, ".")) }

// allows reports whether a request's Host names this UI: localhost or a
// loopback address always (the UI is reachable there, or the request could
// not have arrived with it), the configured name or address, and any IP
// address when the UI listens on every interface. IP literals cannot be
// rebound, so accepting them there opens nothing.
func (p hostPolicy) allows(hostHeader string) bool {
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

// csrfField is the form field (and csrfHeader the header) that carries
// the token.
const (
	csrfField  = "csrf"
	csrfHeader = "X-Banger-CSRF"
)

// maxForm bounds a form body.
const maxForm = 64 << 10

// guard sets security headers on every answer and refuses, before any
// handler runs: a Host that is not ours; a connection of a guest or of
// another user (see localpeer.Rules); one from another machine without the
// access token (see admitRemote); for state-changing requests, one from
// another origin, then one without the CSRF token.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if !s.hosts.allows(r.Host) {
			s.log.Warn("web: refused host", "host", r.Host, "remote", r.RemoteAddr)
			s.fail(w, r, http.StatusMisdirectedRequest, fmt.Sprintf("host %q is not this web UI's address: open it by the address in web_listen_addr, or 127.0.0.1", r.Host))
			return
		}
		if msg := s.peers.Refusal(r); msg != "" {
			s.fail(w, r, http.StatusForbidden, msg)
			return
		}
		if needsToken(r) && !s.admitRemote(w, r) {
			return
		}
		if safeMethod(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		if msg := s.checkOrigin(r); msg != "" {
			s.fail(w, r, http.StatusForbidden, msg)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if !s.validToken(r) {
			s.fail(w, r, http.StatusForbidden, "missing or stale form token: reload the page and try again (the token changes when bangerd restarts)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkOrigin refuses a state-changing request from another origin.
func (s *Server) checkOrigin(r *http.Request) string {
	if r.Header.Get("Origin") == "null" {
		return "cross-origin request refused: it came from a page without an origin"
	}
	if err := crossOrigin.Check(r); err != nil {
		s.log.Warn("web: refused cross-origin request", "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		return "cross-origin request refused: only the banger web UI's own pages may change things"
	}
	return ""
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// validToken reports whether the request carries the CSRF token, in the
// header or in the form.
func (s *Server) validToken(r *http.Request) bool {
	tok := r.Header.Get(csrfHeader)
	if tok == "" {
		tok = r.PostFormValue(csrfField)
	}
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.csrf)) == 1
}
