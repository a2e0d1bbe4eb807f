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
