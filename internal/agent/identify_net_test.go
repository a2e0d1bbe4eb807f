package agent

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
)

// TestGarpFrame: the announcement is an ARP request from the guest's MAC
// in which sender and target are both its address, sent to everyone.
func TestGarpFrame(t *testing.T) {
	mac := net.HardwareAddr{0x06, 0, 0xac, 0x10, 0, 0x07}
	f := garpFrame(mac, netip.MustParseAddr("172.16.0.7"))
	want := []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x06, 0, 0xac, 0x10, 0, 0x07, 0x08, 0x06,
		0, 1, 0x08, 0, 6, 4, 0, 1,
		0x06, 0, 0xac, 0x10, 0, 0x07, 172, 16, 0, 7,
		0, 0, 0, 0, 0, 0, 172, 16, 0, 7,
	}
	if !bytes.Equal(f, want) {
		t.Fatalf("frame\n% x\nwant\n% x", f, want)
	}
	if htons(0x0806) != 0x0608 {
		t.Errorf("htons(0x0806) = %#x", htons(0x0806))
	}
}

// TestNetworkdApplied: the wait for networkd ends only once its state
// file says the link is configured with the file the agent wrote, not
// with the image's fallback file the template was configured with.
func TestNetworkdApplied(t *testing.T) {
	template := "# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=carrier\nNETWORK_FILE=/etc/systemd/network/99-zz-banger-eth0.network\n"
	configuring := "ADMIN_STATE=configuring\nNETWORK_FILE=" + networkFile + "\n"
	applied := "ADMIN_STATE=configured\nOPER_STATE=routable\nNETWORK_FILE=" + networkFile + "\nDNS=172.16.0.1\n"
	for _, c := range []struct {
		state string
		want  bool
	}{{template, false}, {configuring, false}, {applied, true}, {"", false}} {
		if got := networkdApplied(c.state, networkFile); got != c.want {
			t.Errorf("networkdApplied(%q) = %v, want %v", c.state, got, c.want)
		}
	}
}
