package localpeer

import (
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
)

func TestFromGuest(t *testing.T) {
	g := GuestNet{Subnet: netip.MustParsePrefix("172.16.0.0/24"), Bridge: "banger0"}
	lan, gw := "192.168.1.20:50000", "192.168.1.10:7777"
	tests := []struct {
		remote, local string
		want          bool
	}{
		{"172.16.0.5:40000", "172.16.0.1:7777", true},
		{"172.16.0.5:40000", gw, true},
		{lan, "172.16.0.1:7777", true},
		{"[::ffff:172.16.0.5]:40000", "[::ffff:192.168.1.10]:7777", true},
		{"[fe80::5%banger0]:40000", "[fe80::1%banger0]:7777", true},
		{lan, gw, false},
		{"127.0.0.1:50000", "127.0.0.1:7777", false},
	}
	for _, tt := range tests {
		p := Peer{Remote: netip.MustParseAddrPort(tt.remote), Local: netip.MustParseAddrPort(tt.local)}
		if got := g.FromGuest(p); got != tt.want {
			t.Errorf("FromGuest(%s -> %s) = %t, want %t", tt.remote, tt.local, got, tt.want)
		}
	}
	if (GuestNet{}).FromGuest(Peer{Remote: netip.MustParseAddrPort("172.16.0.5:1")}) {
		t.Error("an empty GuestNet counted a peer as a guest")
	}
}

func TestRefusal(t *testing.T) {
	guests := func() GuestNet { return GuestNet{Subnet: netip.MustParsePrefix("172.16.0.0/24")} }
	closed := Rules{Name: "test UI", Guests: guests, RemoteHint: ": open it up"}
	open := Rules{Name: "test UI", Guests: guests, AllowRemote: true}
	lo := netip.MustParseAddrPort("127.0.0.1:3000")
	lan := netip.MustParseAddrPort("192.0.2.9:5000")
	other := os.Getuid() + 4242
	tests := []struct {
		name string
		ru   Rules
		p    Peer
		want string // "" when served
	}{
		{"same user", closed, Peer{Remote: lo, Local: lo, IsLocal: true, UID: os.Getuid()}, ""},
		{"root", closed, Peer{Remote: lo, Local: lo, IsLocal: true, UID: 0}, ""},
		{"another user", open, Peer{Remote: lo, Local: lo, IsLocal: true, UID: other}, "this test UI serves only the user who runs bangerd"},
		{"another machine", closed, Peer{Remote: lan, Local: lo}, "this test UI serves only this machine: open it up"},
		{"another machine, allowed", open, Peer{Remote: lan, Local: lo}, ""},
		{"a guest, remote allowed", open, Peer{Remote: netip.MustParseAddrPort("172.16.0.5:5000"), Local: lo, IsLocal: true, UID: os.Getuid()}, "the test UI does not serve banger's guests"},
		{"unknown", open, Peer{Err: os.ErrPermission}, "cannot tell which user"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r = r.WithContext(WithPeer(r.Context(), tt.p))
		got := tt.ru.Refusal(r)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: Refusal = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := closed.Refusal(httptest.NewRequest("GET", "/", nil)); got != "" {
		t.Errorf("a request without a recorded peer was refused: %q", got)
	}
}
