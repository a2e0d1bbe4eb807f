package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banger/internal/api"
	"banger/internal/localpeer"
	"banger/internal/web/token"
)

// remoteServer is a UI listening on every interface with remote use
// allowed, guests on 172.16.0.0/24 behind banger0, and its access token.
func remoteServer(t *testing.T, f *fakeBackend) (*Server, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "web-token")
	tok, err := token.Secret.Ensure(file)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{
		Backend: f, Addr: "0.0.0.0:7777", TokenFile: file,
		Guests: func() localpeer.GuestNet {
			return localpeer.GuestNet{Subnet: netip.MustParsePrefix("172.16.0.0/24"), Bridge: "banger0"}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, tok
}

// from sends r as if it came over a connection between remote and local.
func from(s *Server, r *http.Request, remote, local string) *httptest.ResponseRecorder {
	p := localpeer.Peer{Remote: netip.MustParseAddrPort(remote), Local: netip.MustParseAddrPort(local)}
	r = r.WithContext(localpeer.WithPeer(r.Context(), p))
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

const lanClient, lanServer = "192.168.1.20:50000", "192.168.1.10:7777"

func TestGuestsRefusedEvenWhenRemoteAllowed(t *testing.T) {
	f := newFake(api.VM{Name: "box", State: "running"})
	s, tok := remoteServer(t, f)
	tests := []struct{ name, remote, local string }{
		{"guest to the gateway", "172.16.0.5:40000", "172.16.0.1:7777"},
		{"guest to the host's LAN address", "172.16.0.5:40000", lanServer},
		{"anyone to the gateway", lanClient, "172.16.0.1:7777"},
		{"mapped guest address", "[::ffff:172.16.0.5]:40000", "[::ffff:192.168.1.10]:7777"},
		{"over the bridge's link", "[fe80::5%banger0]:40000", "[fe80::1%banger0]:7777"},
	}
	for _, tt := range tests {
		// Even with the access token and the CSRF token.
		form := url.Values{csrfField: {s.csrf}}
		r := httptest.NewRequest(http.MethodPost, "http://192.168.1.10:7777/vms/box/stop?token="+tok, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: tokenCookie, Value: tok})
		w := from(s, r, tt.remote, tt.local)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "does not serve banger&#39;s guests") {
			t.Errorf("%s: status %d, want 403 refusing guests\n%s", tt.name, w.Code, w.Body)
		}
	}
	if calls := f.called(); len(calls) != 0 {
		t.Errorf("guests reached the backend: %q", calls)
	}
}

func TestRemoteNeedsTheAccessToken(t *testing.T) {
	f := newFake(api.VM{Name: "box", State: "running"})
	s, tok := remoteServer(t, f)
	page := func(target string, cookie string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "http://192.168.1.10:7777"+target, nil)
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: tokenCookie, Value: cookie})
		}
		return from(s, r, lanClient, lanServer)
	}

	// No token, a wrong one, or a wrong cookie: the login page, without
	// the CSRF token or anything of the VMs.
	for _, target := range []string{"/", "/vms/box", "/?token=" + strings.Repeat("0", len(tok))} {
		w := page(target, "")
		body := w.Body.String()
		if w.Code != http.StatusUnauthorized || !strings.Contains(body, `action="/login"`) || strings.Contains(body, s.csrf) || strings.Contains(body, "box") {
			t.Errorf("GET %s without the token: status %d, want 401 with the login form and nothing else\n%s", target, w.Code, body)
		}
	}
	if w := page("/", tok[:len(tok)-1]+"x"); w.Code != http.StatusUnauthorized {
		t.Errorf("GET / with a wrong cookie: status %d, want 401", w.Code)
	}

	// The token in the address: a cookie, and the address without it.
	w := page("/vms/box?token="+tok, "")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/vms/box" {
		t.Fatalf("GET with ?token=: status %d, Location %q; want 303 to /vms/box", w.Code, w.Header().Get("Location"))
	}
	c := tokenCookieOf(t, w)
	if w := page("/vms/box", c.Value); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), s.csrf) {
		t.Errorf("GET with the cookie: status %d, want the page with its forms", w.Code)
	}

	// A state change needs the cookie as well as the CSRF token.
	post := func(cookie string) *httptest.ResponseRecorder {
		form := url.Values{csrfField: {s.csrf}}
		r := httptest.NewRequest(http.MethodPost, "http://192.168.1.10:7777/vms/box/stop", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "http://192.168.1.10:7777")
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: tokenCookie, Value: cookie})
		}
		return from(s, r, lanClient, lanServer)
	}
	if w := post(""); w.Code != http.StatusUnauthorized || len(f.called()) != 0 {
		t.Errorf("POST without the cookie: status %d, calls %q; want 401 and none", w.Code, f.called())
	}
	if w := post(c.Value); w.Code != http.StatusSeeOther {
		t.Errorf("POST with the cookie: status %d, want 303", w.Code)
	}
	eventually(t, "the stop reached the backend", func() string {
		if calls := f.called(); len(calls) != 1 {
			return fmt.Sprintf("calls %q", calls)
		}
		return ""
	})

	// A new token revokes the cookie.
	if _, err := token.Secret.New(s.tokenFile); err != nil {
		t.Fatal(err)
	}
	if w := page("/", c.Value); w.Code != http.StatusUnauthorized {
		t.Errorf("GET with the old token's cookie: status %d, want 401", w.Code)
	}
}

func TestLoginForm(t *testing.T) {
	s, tok := remoteServer(t, newFake())
	login := func(presented, origin string) *httptest.ResponseRecorder {
		form := url.Values{tokenParam: {presented}}
		r := httptest.NewRequest(http.MethodPost, "http://192.168.1.10:7777/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", origin)
		return from(s, r, lanClient, lanServer)
	}
	if w := login("nope", "http://192.168.1.10:7777"); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "not the access token") {
		t.Errorf("wrong token: status %d, want 401 saying so\n%s", w.Code, w.Body)
	}
	if w := login(tok, "http://evil.example"); w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
		t.Errorf("login from another origin: status %d, want 403 and no cookie", w.Code)
	}
	w := login(tok, "http://192.168.1.10:7777")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Fatalf("right token: status %d, Location %q; want 303 to /", w.Code, w.Header().Get("Location"))
	}
	tokenCookieOf(t, w)
}

func TestRemoteWithoutTokenFileRefused(t *testing.T) {
	s, tok := remoteServer(t, newFake())
	if err := os.Remove(s.tokenFile); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "http://192.168.1.10:7777/?token="+tok, nil)
	if w := from(s, r, lanClient, lanServer); w.Code != http.StatusUnauthorized {
		t.Errorf("with no token file: status %d, want 401", w.Code)
	}
}

func TestThisMachineNeedsNoToken(t *testing.T) {
	s, _ := remoteServer(t, newFake())
	r := httptest.NewRequest(http.MethodGet, "http://192.168.1.10:7777/", nil)
	p := localpeer.Peer{Remote: netip.MustParseAddrPort("192.168.1.10:50000"), Local: netip.MustParseAddrPort(lanServer), IsLocal: true, UID: os.Getuid()}
	r = r.WithContext(localpeer.WithPeer(r.Context(), p))
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Errorf("this machine's user: status %d, want the page", w.Code)
	}
}

func TestWithoutTokenStaysOnSite(t *testing.T) {
	for in, want := range map[string]string{
		"/vms/box?token=x":        "/vms/box",
		"/?a=1&token=x":           "/?a=1",
		"//evil.example/?token=x": "/evil.example/",
	} {
		u, _ := url.ParseRequestURI(in)
		if got := withoutToken(u); got != want {
			t.Errorf("withoutToken(%q) = %q, want %q", in, got, want)
		}
	}
}

func tokenCookieOf(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == tokenCookie {
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
				t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/", c)
			}
			return c
		}
	}
	t.Fatalf("no %s cookie set: %v", tokenCookie, w.Result().Cookies())
	return nil
}

// TestGuestRefusedOverARealConnection serves the UI on loopback with
// loopback standing in for the guests' subnet: the peer recorded for a
// real connection is refused.
func TestGuestRefusedOverARealConnection(t *testing.T) {
	s, err := New(Options{
		Backend: newFake(), Addr: "127.0.0.1:0",
		Guests: func() localpeer.GuestNet { return localpeer.GuestNet{Subnet: netip.MustParsePrefix("127.0.0.0/8")} },
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	res, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a connection from the guests' subnet: status %d, want 403", res.StatusCode)
	}
}
