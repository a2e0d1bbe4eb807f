package network

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func TestGateway(t *testing.T) {
	tests := []struct{ subnet, want string }{
		{"172.16.0.0/24", "172.16.0.1"},
		{"10.20.0.0/16", "10.20.0.1"},
		{"192.168.7.8/30", "192.168.7.9"},
	}
	for _, tt := range tests {
		c := Config{Bridge: "banger0", Subnet: netip.MustParsePrefix(tt.subnet)}
		if got := c.Gateway().String(); got != tt.want {
			t.Errorf("Gateway() of %s = %s, want %s", tt.subnet, got, tt.want)
		}
	}
	if gw := (Config{}).Gateway(); gw.IsValid() {
		t.Errorf("Gateway() of an empty config = %s, want the zero Addr", gw)
	}
}

func TestValidateAccepts(t *testing.T) {
	for _, c := range []Config{
		{Bridge: "banger0", Subnet: netip.MustParsePrefix("172.16.0.0/24")},
		{Bridge: "br-dev.0", Subnet: netip.MustParsePrefix("10.20.0.0/16")},
		{Bridge: "abcdefghijklmno", Subnet: netip.MustParsePrefix("192.168.1.4/30")},
		{Bridge: "banger0", Subnet: netip.MustParsePrefix("172.31.255.0/24")},
		{Bridge: "banger0", Subnet: netip.MustParsePrefix("100.64.0.0/16")},
		{Bridge: "banger0", Subnet: netip.MustParsePrefix("100.127.255.252/30")},
		{Bridge: "banger0", Subnet: netip.MustParsePrefix("10.255.0.0/16")},
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", c, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		bridge string
		subnet string
		want   string
	}{
		{"empty bridge", "", "172.16.0.0/24", "bridge name: it is empty"},
		{"long bridge", "abcdefghijklmnop", "172.16.0.0/24", "longer than 15 bytes"},
		{"slash", "br/0", "172.16.0.0/24", "has a character other than"},
		{"space", "br 0", "172.16.0.0/24", "has a character other than"},
		{"dot dot", "..", "172.16.0.0/24", "is not an interface name"},
		{"tap prefix", "bg-bridge", "172.16.0.0/24", "keeps for its taps"},
		{"no subnet", "banger0", "", "is not an IPv4 subnet"},
		{"ipv6", "banger0", "fd00::/64", "is not an IPv4 subnet"},
		{"mapped", "banger0", "::ffff:172.16.0.0/120", "is not an IPv4 subnet"},
		{"too wide", "banger0", "10.0.0.0/8", "prefix /8 is out of range; use /16 to /30"},
		{"too narrow", "banger0", "10.0.0.0/31", "prefix /31 is out of range"},
		{"host bits", "banger0", "172.16.0.5/24", "has host bits set; use the network address, 172.16.0.0/24"},
		{"public", "banger0", "8.8.8.0/24", "is not a private range; set bridge_subnet in config.toml to a subnet within 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10"},
		{"test-net", "banger0", "203.0.113.0/24", "is not a private range"},
		{"link-local", "banger0", "169.254.0.0/16", "is not a private range"},
		{"multicast", "banger0", "224.0.0.0/24", "is not a private range"},
		{"this network", "banger0", "0.0.0.0/16", "is not a private range"},
		{"loopback", "banger0", "127.0.0.0/24", "is not a private range"},
		{"beside 172.16/12", "banger0", "172.32.0.0/24", "is not a private range"},
		{"beside 100.64/10", "banger0", "100.128.0.0/24", "is not a private range"},
		{"broadcast", "banger0", "255.255.255.252/30", "is not a private range"},
	}
	for _, tt := range tests {
		var p netip.Prefix
		if tt.subnet != "" {
			p = netip.MustParsePrefix(tt.subnet)
		}
		err := Config{Bridge: tt.bridge, Subnet: p}.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want an error containing %q", tt.name, err, tt.want)
			continue
		}
		if !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("%s: Validate() = %v, want kind invalid_argument", tt.name, err)
		}
	}
}
