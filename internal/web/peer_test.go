package web

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
)

func TestParseProcAddr(t *testing.T) {
	tests := map[string]string{
		"0100007F:1E61":                         "127.0.0.1:7777",
		"0500A8C0:0050":                         "192.168.0.5:80",
		"00000000000000000000000001000000:1E61": "[::1]:7777",
		"0000000000000000FFFF00000100007F:D431": "127.0.0.1:54321", // IPv4 on a dual-stack socket
	}
	for in, want := range tests {
		got, err := parseProcAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("parseProcAddr(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0100007F", "XYZ:0050", "0100007F:XYZ", "01007F:0050"} {
		if _, err := parseProcAddr(bad); err == nil {
			t.Errorf("parseProcAddr(%q) accepted", bad)
		}
	}
}

func TestFindSocketMatchesBothEnds(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1E61 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1065 1
   1: 0100007F:D431 0100007F:1E62 01 00000000:00000000 00:00000000 00000000  1002        0 2001 1
   2: 0100007F:D431 0100007F:1E61 01 00000000:00000000 00:00000000 00000000  1001        0 2002 1
`
	client := netip.MustParseAddrPort("127.0.0.1:54321")
	server := netip.MustParseAddrPort("127.0.0.1:7777")
	uid, found, err := findSocket(strings.NewReader(table), client, server)
	if err != nil || !found || uid != 1001 {
		t.Errorf("findSocket = %d, %t, %v; want uid 1001", uid, found, err)
	}
	if _, found, _ := findSocket(strings.NewReader(table), netip.MustParseAddrPort("10.0.0.9:5000"), server); found {
		t.Errorf("a remote client was found in the table")
	}
}

// TestPeerOfALiveConnection looks up a real loopback connection of this
// process in the kernel's socket tables.
func TestPeerOfALiveConnection(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Logf("skipping %s: %v", addr, err)
			continue
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, _ := ln.Accept()
			accepted <- c
		}()
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		server := <-accepted
		if server == nil {
			t.Fatal("accept failed")
		}
		defer server.Close()
		p, _ := withPeer(context.Background(), server).Value(peerKey{}).(peer)
		if p.err != nil || !p.isLocal || p.uid != os.Getuid() {
			t.Errorf("%s: peer = %+v, want local uid %d", addr, p, os.Getuid())
		}
	}
}

func TestCheckPeer(t *testing.T) {
	loop := newTestServer(t, newFake())
	all, err := New(Options{Backend: newFake(), Addr: "0.0.0.0:7777"})
	if err != nil {
		t.Fatal(err)
	}
	other := os.Getuid() + 4242
	tests := []struct {
		name string
		s    *Server
		p    peer
		want string // "" when served
	}{
		{"same user", loop, peer{isLocal: true, uid: os.Getuid()}, ""},
		{"root", loop, peer{isLocal: true, uid: 0}, ""},
		{"another user", loop, peer{isLocal: true, uid: other}, "serves only the user who runs bangerd"},
		{"another machine, loopback UI", loop, peer{}, "serves only this machine"},
		{"another user, remote allowed", all, peer{isLocal: true, uid: other}, "serves only the user who runs bangerd"},
		{"unknown", loop, peer{err: os.ErrPermission}, "cannot tell which user"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "http://"+uiAddr+"/", nil)
		r = r.WithContext(context.WithValue(r.Context(), peerKey{}, tt.p))
		w := httptest.NewRecorder()
		tt.s.Handler().ServeHTTP(w, r)
		if tt.want == "" && w.Code != http.StatusOK {
			t.Errorf("%s: status %d, want the page\n%s", tt.name, w.Code, w.Body)
		}
		if tt.want != "" && (w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), tt.want)) {
			t.Errorf("%s: status %d, want 403 with %q\n%s", tt.name, w.Code, tt.want, w.Body)
		}
	}
}
