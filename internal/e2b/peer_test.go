package e2b

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
)

func TestFindSocket(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1234        0 1 1 0000000000000000 100 0 0 10 0
`
	local := netip.MustParseAddrPort("127.0.0.1:3000")
	remote := netip.MustParseAddrPort("127.0.0.1:54321")
	uid, found, err := findSocket(strings.NewReader(table), local, remote)
	if err != nil || !found || uid != 1234 {
		t.Errorf("findSocket = %d %v %v, want uid 1234", uid, found, err)
	}
	if _, found, _ := findSocket(strings.NewReader(table), remote, local); found {
		t.Error("found the socket with its ends swapped")
	}
}

func TestCheckPeer(t *testing.T) {
	g := newRig(t)
	g.s.guests = func() GuestNet { return GuestNet{Subnet: netip.MustParsePrefix("172.16.0.0/24"), Bridge: "banger0"} }
	lo := netip.MustParseAddrPort("127.0.0.1:3000")
	for _, tt := range []struct {
		name string
		p    peer
		want string
	}{
		{"me", peer{remote: lo, local: lo, isLocal: true, uid: os.Getuid()}, ""},
		{"root", peer{remote: lo, local: lo, isLocal: true, uid: 0}, ""},
		{"another user", peer{remote: lo, local: lo, isLocal: true, uid: os.Getuid() + 1}, "serves only the user"},
		{"another machine", peer{remote: netip.MustParseAddrPort("192.0.2.9:5000"), local: lo}, "e2b_allow_remote"},
		{"a guest", peer{remote: netip.MustParseAddrPort("172.16.0.5:5000"), local: netip.MustParseAddrPort("172.16.0.1:3000")}, "guests"},
	} {
		if os.Getuid() == 0 && tt.name == "another user" {
			continue
		}
		r := httptest.NewRequest("GET", "/", nil)
		r = r.WithContext(context.WithValue(r.Context(), peerKey{}, tt.p))
		if got := g.s.checkPeer(r); (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: checkPeer = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestPeerOverARealConnection: a connection from this process is this
// user's, found in the kernel's socket table.
func TestPeerOverARealConnection(t *testing.T) {
	g := newRig(t)
	ts := httptest.NewUnstartedServer(g.s)
	ts.Config.ConnContext = withPeer
	ts.Start()
	defer ts.Close()
	g.url = ts.URL
	var e apiError
	if resp := g.do(t, "GET", "/v2/sandboxes", "", nil); resp.StatusCode != http.StatusOK {
		g.do(t, "GET", "/v2/sandboxes", "", &e)
		t.Errorf("this user was refused: %d %+v", resp.StatusCode, e)
	}
}
