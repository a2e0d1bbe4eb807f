package network

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func TestGuestMAC(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"172.16.0.2", "06:00:AC:10:00:02"},
		{"10.0.255.254", "06:00:0A:00:FF:FE"},
		{"::ffff:192.168.1.1", "06:00:C0:A8:01:01"},
	}
	for _, tt := range tests {
		if got := GuestMAC(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("GuestMAC(%s) = %s, want %s", tt.ip, got, tt.want)
		}
	}
}

func TestKernelIPArg(t *testing.T) {
	guest, gw := netip.MustParseAddr("172.16.0.2"), netip.MustParseAddr("172.16.0.1")
	dns := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	tests := []struct {
		name     string
		prefix   int
		hostname string
		dns      []netip.Addr
		want     string
	}{
		{"no dns", 24, "web", nil, "ip=172.16.0.2::172.16.0.1:255.255.255.0:web:eth0:off"},
		{"one dns", 24, "web", dns("172.16.0.1"), "ip=172.16.0.2::172.16.0.1:255.255.255.0:web:eth0:off:172.16.0.1"},
		{"two of three", 16, "db", dns("1.1.1.1", "8.8.8.8", "9.9.9.9"), "ip=172.16.0.2::172.16.0.1:255.255.0.0:db:eth0:off:1.1.1.1:8.8.8.8"},
		{"ipv6 dns skipped", 30, "x", dns("2001:db8::1", "1.1.1.1"), "ip=172.16.0.2::172.16.0.1:255.255.255.252:x:eth0:off:1.1.1.1"},
		{"bad hostname left out", 24, "a:b", nil, "ip=172.16.0.2::172.16.0.1:255.255.255.0::eth0:off"},
	}
	for _, tt := range tests {
		if got := KernelIPArg(guest, gw, tt.prefix, tt.hostname, tt.dns); got != tt.want {
			t.Errorf("%s: KernelIPArg = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestNetmask(t *testing.T) {
	for bits, want := range map[int]string{0: "0.0.0.0", 8: "255.0.0.0", 20: "255.255.240.0", 32: "255.255.255.255"} {
		if got := netmask(bits); got != want {
			t.Errorf("netmask(%d) = %s, want %s", bits, got, want)
		}
	}
}

func mustConfig(subnet string) Config {
	return Config{Bridge: "banger0", Subnet: netip.MustParsePrefix(subnet)}
}

func TestAllocate(t *testing.T) {
	c := mustConfig("172.16.0.0/24")
	addrs := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	tests := []struct {
		name string
		used []netip.Addr
		want string
	}{
		{"empty subnet", nil, "172.16.0.2"},
		{"next free", addrs("172.16.0.2", "172.16.0.3"), "172.16.0.4"},
		{"fills a hole", addrs("172.16.0.2", "172.16.0.4"), "172.16.0.3"},
		{"ignores foreign", addrs("10.0.0.2", "172.16.0.1"), "172.16.0.2"},
	}
	for _, tt := range tests {
		got, err := Allocate(c, tt.used)
		if err != nil || got.String() != tt.want {
			t.Errorf("%s: Allocate = %v, %v; want %s", tt.name, got, err, tt.want)
		}
	}
}

func TestAllocateFull(t *testing.T) {
	c := mustConfig("172.16.0.0/24")
	var used []netip.Addr
	for {
		a, err := Allocate(c, used)
		if err != nil {
			if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "all 253 are in use") {
				t.Fatalf("Allocate on a full subnet = %v, want a failed_precondition saying all 253 are in use", err)
			}
			break
		}
		if !c.Subnet.Contains(a) || a == c.Gateway() || a == netip.MustParseAddr("172.16.0.255") {
			t.Fatalf("Allocate gave %s, which is not a guest address of %s", a, c.Subnet)
		}
		used = append(used, a)
	}
	if len(used) != 253 {
		t.Errorf("allocated %d addresses from a /24, want 253", len(used))
	}
	if last := used[len(used)-1].String(); last != "172.16.0.254" {
		t.Errorf("last address = %s, want 172.16.0.254", last)
	}
}

func TestAllocateSlash30(t *testing.T) {
	c := mustConfig("192.168.5.4/30")
	a, err := Allocate(c, nil)
	if err != nil || a.String() != "192.168.5.6" {
		t.Fatalf("Allocate in %s = %v, %v; want 192.168.5.6", c.Subnet, a, err)
	}
	_, err = Allocate(c, []netip.Addr{a})
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "stop or delete a VM") {
		t.Errorf("Allocate in a full /30 = %v, want failed_precondition with advice", err)
	}
}

func TestAllocateInvalidConfig(t *testing.T) {
	_, err := Allocate(mustConfig("10.0.0.0/8"), nil)
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Allocate with a /8 = %v, want invalid_argument", err)
	}
}
