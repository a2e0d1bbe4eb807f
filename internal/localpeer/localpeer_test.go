package localpeer

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
)

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
	if _, found, _ := findSocket(strings.NewReader(table), server, client); found {
		t.Error("found the socket with its ends swapped")
	}
	if _, found, _ := findSocket(strings.NewReader(table), netip.MustParseAddrPort("10.0.0.9:5000"), server); found {
		t.Errorf("a remote client was found in the table")
	}
}

func TestFindSocketRefusesABadTable(t *testing.T) {
	table := "header\n   0: nonsense 0100007F:1E61 01 0 0 0 1000 0 1 1\n"
	if _, _, err := findSocket(strings.NewReader(table), netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("127.0.0.1:2")); err == nil {
		t.Error("findSocket read a malformed table without an error")
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
		p, _ := ConnContext(context.Background(), server).Value(peerKey{}).(Peer)
		if p.Err != nil || !p.IsLocal || p.UID != os.Getuid() {
			t.Errorf("%s: peer = %+v, want local uid %d", addr, p, os.Getuid())
		}
	}
}
