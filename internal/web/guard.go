package web

import (
	"crypto/subtle"
	"fmt"
	"net/http"

	"banger/internal/localpeer"
)

// hostPolicy decides which Host headers the UI answers (see
// localpeer.Hosts).
type hostPolicy = localpeer.Hosts

func newHostPolicy(addr string) (hostPolicy, error) {
	h, err := localpeer.NewHosts(addr)
	if err != nil {
		return h, fmt.Errorf("web_listen_addr: %w", err)
	}
	return h, nil
}

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
		if !s.hosts.Allows(r.Host) {
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
	msg := localpeer.CrossOrigin(r, "the banger web UI's own pages")
	if msg != "" {
		s.log.Warn("web: refused cross-origin request", "path", r.URL.Path, "origin", r.Header.Get("Origin"))
	}
	return msg
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
