package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"banger/internal/api"
	"banger/internal/localpeer"
)

func TestHostHeaderChecked(t *testing.T) {
	s := newTestServer(t, newFake())
	tests := []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1:7777", true},
		{"localhost:7777", true},
		{"LOCALHOST.:7777", true},
		{"[::1]:7777", true},
		{"127.0.0.1", true},
		{"evil.example:7777", false}, // DNS rebinding: a foreign name pointed at 127.0.0.1
		{"localhost.evil.example:7777", false},
		{"192.168.1.10:7777", false}, // not where a loopback-only UI listens
		{"", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host = tt.host
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		if got := w.Code == http.StatusOK; got != tt.ok {
			t.Errorf("Host %q: status %d, want ok=%t\n%s", tt.host, w.Code, tt.ok, w.Body)
		}
		if !tt.ok && !strings.Contains(w.Body.String(), "is not this web UI&#39;s address") {
			t.Errorf("Host %q: refusal does not say why:\n%s", tt.host, w.Body)
		}
	}
}

func TestHostPolicyFollowsListenAddr(t *testing.T) {
	tests := []struct {
		addr, host string
		ok         bool
	}{
		{"0.0.0.0:7777", "192.168.1.10:7777", true}, // every interface: any IP literal
		{"0.0.0.0:7777", "devbox:7777", false},      // but no name but localhost
		{"[::]:7777", "[fd00::5]:7777", true},
		{":7777", "10.0.0.2:7777", true},
		{"devbox.lan:7777", "DEVBOX.lan:7777", true},
		{"devbox.lan:7777", "other.lan:7777", false},
		{"devbox.lan:7777", "localhost:7777", true},
		{"192.168.1.10:7777", "192.168.1.10:7777", true},
		{"192.168.1.10:7777", "192.168.1.11:7777", false},
	}
	for _, tt := range tests {
		p, err := newHostPolicy(tt.addr)
		if err != nil {
			t.Fatalf("newHostPolicy(%q): %v", tt.addr, err)
		}
		if got := p.Allows(tt.host); got != tt.ok {
			t.Errorf("listening on %s, Host %q allowed = %t, want %t", tt.addr, tt.host, got, tt.ok)
		}
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	f := newFake(api.VM{Name: "box", State: "running"})
	s := newTestServer(t, f)
	tests := []struct {
		name    string
		headers map[string]string
	}{
		{"other origin", map[string]string{"Origin": "http://evil.example"}},
		{"other port", map[string]string{"Origin": "http://127.0.0.1:8080"}},
		{"same host other name", map[string]string{"Origin": "http://localhost:7777"}},
		{"opaque origin", map[string]string{"Origin": "null"}},
		{"fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"same-site is not same-origin", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:7777"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{csrfField: {s.csrf}} // even with the right token
			r := httptest.NewRequest(http.MethodPost, "http://"+uiAddr+"/vms/box/stop", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, r)
			if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "cross-origin request refused") {
				t.Errorf("status %d, want 403 saying cross-origin:\n%s", w.Code, w.Body)
			}
		})
	}
	if calls := f.called(); len(calls) != 0 {
		t.Errorf("refused requests reached the backend: %q", calls)
	}
}

func TestCSRFTokenRequired(t *testing.T) {
	f := newFake(api.VM{Name: "box", State: "stopped"})
	s := newTestServer(t, f)
	for _, tok := range []string{"", "0000", strings.Repeat("a", len(s.csrf))} {
		w := post(s, "/vms/box/delete", url.Values{csrfField: {tok}})
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "reload the page") {
			t.Errorf("token %q: status %d, want 403 asking for a reload:\n%s", tok, w.Code, w.Body)
		}
	}
	if calls := f.called(); len(calls) != 0 {
		t.Errorf("requests without the token reached the backend: %q", calls)
	}
	// Without Origin (a non-browser client) the token alone decides.
	form := url.Values{csrfField: {s.csrf}}
	r := httptest.NewRequest(http.MethodPost, "http://"+uiAddr+"/vms/box/delete", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Errorf("POST with the token and no Origin: status %d\n%s", w.Code, w.Body)
	}
	// The header works as well as the form field.
	f.vms["box"] = api.VM{Name: "box", State: "stopped"}
	r = httptest.NewRequest(http.MethodPost, "http://"+uiAddr+"/vms/box/delete", nil)
	r.Header.Set(csrfHeader, s.csrf)
	r.Header.Set("Origin", "http://"+uiAddr)
	w = httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Errorf("POST with the token header: status %d\n%s", w.Code, w.Body)
	}
}

func TestPagesCarryTokenAndHeaders(t *testing.T) {
	s := newTestServer(t, newFake(api.VM{Name: "box", State: "stopped"}))
	w := get(s, "/")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /: %d\n%s", w.Code, w.Body)
	}
	if !strings.Contains(w.Body.String(), `name="csrf" value="`+s.csrf+`"`) {
		t.Errorf("the VM list's forms lack the token")
	}
	for k, want := range map[string]string{
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "frame-ancestors 'none'",
	} {
		if !strings.Contains(w.Header().Get(k), want) {
			t.Errorf("header %s = %q, want %q in it", k, w.Header().Get(k), want)
		}
	}
	if other := newTestServer(t, newFake()); other.csrf == s.csrf || len(s.csrf) < 32 {
		t.Errorf("tokens are not random: %q, %q", s.csrf, other.csrf)
	}
}

// TestRefusalsCarryNoToken: a page refused for its Host (a DNS rebinding
// page reads it as same-origin) or its peer (another local user) must not
// hand out the CSRF token.
func TestRefusalsCarryNoToken(t *testing.T) {
	s := newTestServer(t, newFake(api.VM{Name: "box", State: "stopped"}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Host = "evil.example:7777"
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusMisdirectedRequest || strings.Contains(w.Body.String(), s.csrf) {
		t.Errorf("bad Host: status %d, token in body %t; want 421 without it", w.Code, strings.Contains(w.Body.String(), s.csrf))
	}
	r = httptest.NewRequest(http.MethodGet, "http://"+uiAddr+"/", nil)
	r = r.WithContext(localpeer.WithPeer(r.Context(), localpeer.Peer{IsLocal: true, UID: os.Getuid() + 4242}))
	w = httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), s.csrf) {
		t.Errorf("another user: status %d, token in body %t; want 403 without it", w.Code, strings.Contains(w.Body.String(), s.csrf))
	}
	if w := get(s, "/vms/nosuch"); w.Code != http.StatusNotFound || strings.Contains(w.Body.String(), s.csrf) {
		t.Errorf("error page: status %d, token in body %t; want 404 without it", w.Code, strings.Contains(w.Body.String(), s.csrf))
	}
}
