package e2b

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"

	"banger/internal/localpeer"
)

func TestCheckPeer(t *testing.T) {
	g := newRig(t)
	g.s.peers.Guests = func() localpeer.GuestNet {
		return localpeer.GuestNet{Subnet: netip.MustParsePrefix("172.16.0.0/24"), Bridge: "banger0"}
	}
	lo := netip.MustParseAddrPort("127.0.0.1:3000")
	for _, tt := range []struct {
		name string
		p    localpeer.Peer
		want string
	}{
		{"me", localpeer.Peer{Remote: lo, Local: lo, IsLocal: true, UID: os.Getuid()}, ""},
		{"root", localpeer.Peer{Remote: lo, Local: lo, IsLocal: true, UID: 0}, ""},
		{"another user", localpeer.Peer{Remote: lo, Local: lo, IsLocal: true, UID: os.Getuid() + 1}, "this E2B API serves only the user who runs bangerd"},
		{"another machine", localpeer.Peer{Remote: netip.MustParseAddrPort("192.0.2.9:5000"), Local: lo}, "this E2B API serves only this machine: set e2b_allow_remote = true to let others in with the API key"},
		{"a guest", localpeer.Peer{Remote: netip.MustParseAddrPort("172.16.0.5:5000"), Local: netip.MustParseAddrPort("172.16.0.1:3000")}, "the E2B API does not serve banger's guests"},
	} {
		if os.Getuid() == 0 && tt.name == "another user" {
			continue
		}
		r := httptest.NewRequest("GET", "/", nil)
		r = r.WithContext(localpeer.WithPeer(r.Context(), tt.p))
		if got := g.s.peers.Refusal(r); (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: Refusal = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestPeerOverARealConnection: a connection from this process is this
// user's, found in the kernel's socket table.
func TestPeerOverARealConnection(t *testing.T) {
	g := newRig(t)
	ts := httptest.NewUnstartedServer(g.s)
	ts.Config.ConnContext = localpeer.ConnContext
	ts.Start()
	defer ts.Close()
	g.url = ts.URL
	var e apiError
	if resp := g.do(t, "GET", "/v2/sandboxes", "", nil); resp.StatusCode != http.StatusOK {
		g.do(t, "GET", "/v2/sandboxes", "", &e)
		t.Errorf("this user was refused: %d %+v", resp.StatusCode, e)
	}
}
