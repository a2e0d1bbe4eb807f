package e2b

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"banger/internal/secretfile"
)

// target is the sandbox port a request is for.
type target struct {
	ID   string
	Port int
	// signed is set for a /files request found by its URL signature,
	// which stands in for the access token.
	signed bool
}

// Routing headers the SDK sends with every sandbox request when
// E2B_SANDBOX_URL is set.
const (
	headerSandboxID   = "E2b-Sandbox-Id"
	headerSandboxPort = "E2b-Sandbox-Port"
	headerAccessToken = "X-Access-Token"
)

// sandboxTarget finds the sandbox port a request is for: from the
// routing headers, or from a Host of the form PORT-ID.localhost[:P]. ok
// is false for a control-plane request; err is set for a request that
// names a sandbox badly.
func sandboxTarget(r *http.Request) (t target, ok bool, err error) {
	if id := r.Header.Get(headerSandboxID); id != "" {
		port, err := parsePort(r.Header.Get(headerSandboxPort))
		if err != nil {
			return target{}, false, fmt.Errorf("%s: %w", headerSandboxPort, err)
		}
		return target{ID: id, Port: port}, true, nil
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	label, ok := strings.CutSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), ".localhost")
	if !ok || strings.Contains(label, ".") {
		return target{}, false, nil
	}
	portText, id, ok := strings.Cut(label, "-")
	if !ok || id == "" {
		return target{}, false, nil
	}
	port, err := parsePort(portText)
	if err != nil {
		return target{}, false, fmt.Errorf("host %s: %w", r.Host, err)
	}
	return target{ID: id, Port: port}, true, nil
}

// parsePort reads a port number, 1 to 65535.
func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || strings.HasPrefix(s, "+") || strings.HasPrefix(s, "0") {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", s)
	}
	return n, nil
}

// serveSandbox passes a request on to its sandbox: to envd, once its
// access token is checked, or to the guest's port.
func (s *Server) serveSandbox(w http.ResponseWriter, r *http.Request, t target) {
	v, rec, err := s.sandbox(r.Context(), t.ID)
	switch {
	case err != nil && errorStatus(err) == http.StatusNotFound:
		// E2B's proxy answers 502 for a sandbox that is gone; the SDK
		// tells its user the sandbox may have timed out.
		failSandbox(w, r, http.StatusBadGateway, "%v", err)
		return
	case err != nil:
		failSandbox(w, r, errorStatus(err), "%v", err)
		return
	case v.State != StateRunning:
		failSandbox(w, r, http.StatusBadGateway, "sandbox %s is not running (it is %s): resume it with `Sandbox.connect()`", t.ID, v.State)
		return
	}
	if t.Port != EnvdPort {
		s.proxy(w, r, v, t.Port)
		return
	}
	// A signed URL stands for the token: the SDK's uploadUrl and
	// downloadUrl carry a signature instead, whether the sandbox is named
	// by the URL's signature alone or by the headers too.
	if !t.signed && !tokenOK(r, rec) && !s.signs(r, rec) {
		failSandbox(w, r, http.StatusUnauthorized, "missing or wrong %s for sandbox %s: use the envdAccessToken its create answered", headerAccessToken, t.ID)
		return
	}
	if s.envd == nil || s.envdCtx == nil {
		failSandbox(w, r, http.StatusServiceUnavailable, "this bangerd has no sandbox-side API")
		return
	}
	ctx := s.envdCtx(r.Context(), EnvdSandbox{VM: v.Name, Env: rec.Env, AccessToken: rec.AccessToken})
	s.envd.ServeHTTP(w, r.WithContext(ctx))
}

// tokenOK reports whether a request carries the sandbox's access token.
// A sandbox made without one (`secure: false` on the old create) needs
// none; a sandbox whose record is lost is refused.
func tokenOK(r *http.Request, rec record) bool {
	if rec.ID == "" {
		return false
	}
	return rec.AccessToken == "" || secretfile.Equal(r.Header.Get(headerAccessToken), rec.AccessToken)
}
