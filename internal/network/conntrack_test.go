package network

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func TestPermitsFlow(t *testing.T) {
	g := Guest{Tap: "bg-a", MAC: "06:00:ac:10:00:02", IP: netip.MustParseAddr("172.16.0.2")}
	local := map[netip.Addr]bool{netip.MustParseAddr("192.0.2.1"): true, netip.MustParseAddr("172.16.0.1"): true}
	ip := netip.MustParseAddr
	const tcp, udp, icmp = unix.IPPROTO_TCP, unix.IPPROTO_UDP, unix.IPPROTO_ICMP
	tests := []struct {
		policy   string
		src, dst string
		proto    uint8
		port     uint16
		want     bool
	}{
		{"internet", "172.16.0.2", "203.0.113.7", tcp, 443, true},
		{"internet", "172.16.0.2", "192.168.1.5", tcp, 443, false},
		{"internet", "172.16.0.2", "169.254.169.254", tcp, 80, false},
		{"internet", "172.16.0.2", "172.16.0.3", tcp, 22, true},
		{"internet", "172.16.0.2", "172.16.0.1", udp, 53, true},
		{"internet", "172.16.0.2", "172.16.0.1", tcp, 22, false},
		{"internet", "172.16.0.2", "192.0.2.1", tcp, 8080, false},
		{"internet", "192.0.2.1", "172.16.0.2", tcp, 22, true},    // the host starts it
		{"internet", "172.16.0.3", "172.16.0.2", tcp, 22, true},   // another guest
		{"internet", "203.0.113.7", "172.16.0.2", tcp, 22, false}, // the world
		{"open", "203.0.113.7", "172.16.0.2", tcp, 22, true},
		{"open", "172.16.0.2", "192.0.2.1", tcp, 8080, true},
		{"none", "192.0.2.1", "172.16.0.2", tcp, 22, false},
		{"none", "172.16.0.2", "172.16.0.1", udp, 53, false},
		{"allow=10.0.0.0/8:22,example.com", "172.16.0.2", "10.1.2.3", tcp, 22, true},
		{"allow=10.0.0.0/8:22,example.com", "172.16.0.2", "10.1.2.3", icmp, 22, false},
		{"allow=10.0.0.0/8:22,example.com", "172.16.0.2", "10.1.2.3", tcp, 23, false},
		{"allow=10.0.0.0/8:22,example.com", "172.16.0.2", "203.0.113.7", tcp, 443, false},
		{"allow=203.0.113.0/24", "172.16.0.2", "203.0.113.7", icmp, 0, true},
		{"allow=203.0.113.0/24", "10.9.9.9", "203.0.113.7", tcp, 1, true}, // not the guest's
	}
	for _, tt := range tests {
		p, err := ParsePolicy(tt.policy)
		if err != nil {
			t.Fatal(err)
		}
		if got := permitsFlow(testConfig, g, p, local, ip(tt.src), ip(tt.dst), tt.proto, tt.port); got != tt.want {
			t.Errorf("%s: flow %s -> %s proto %d port %d permitted = %v, want %v", tt.policy, tt.src, tt.dst, tt.proto, tt.port, got, tt.want)
		}
	}
}
