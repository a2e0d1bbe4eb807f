package network

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TestSpoofedARPDropped: a guest that announces another guest's address
// in ARP does not take it over in the host's neighbour table, while its
// own announcements get through.
func TestSpoofedARPDropped(t *testing.T) {
	l := newLab(t)
	a := l.guest("bg-ga", "172.16.0.2")
	b := l.guest("bg-gb", "172.16.0.3")
	l.setPolicy(a, "internet")
	l.setPolicy(b, "internet")
	if !reach(netns.None(), netip.AddrPortFrom(b.IP, 8080)) { // the host learns b's MAC
		t.Fatal("the host cannot reach guest b")
	}
	sendARP(t, a, b.IP) // a claims b's address
	sendARP(t, a, a.IP) // and then its own
	aMAC, bMAC := neighbour(t, a.IP), neighbour(t, b.IP)
	if want := canonMAC(a.MAC); aMAC != want {
		t.Fatalf("the host has %q for guest a, want %s", aMAC, want)
	}
	if want := canonMAC(b.MAC); bMAC != want {
		t.Errorf("the host has %s for guest b's address after guest a claimed it, want b's %s", bMAC, want)
	}
}

func canonMAC(s string) string {
	mac, _ := net.ParseMAC(s)
	return mac.String()
}

// sendARP sends, from guest g, an ARP request for the gateway that gives
// ip as its sender address and g's MAC as its sender MAC.
func sendARP(t *testing.T, g *labGuest, ip netip.Addr) {
	t.Helper()
	mac, _ := net.ParseMAC(g.MAC)
	bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	frame := make([]byte, 0, 42)
	frame = append(frame, bcast...)
	frame = append(frame, mac...)
	frame = binary.BigEndian.AppendUint16(frame, unix.ETH_P_ARP)
	frame = binary.BigEndian.AppendUint16(frame, 1)             // Ethernet
	frame = binary.BigEndian.AppendUint16(frame, unix.ETH_P_IP) // IPv4
	frame = append(frame, 6, 4)
	frame = binary.BigEndian.AppendUint16(frame, 1) // request
	frame = append(frame, mac...)
	frame = append(frame, ip.AsSlice()...)
	frame = append(frame, make([]byte, 6)...)
	frame = append(frame, testConfig.Gateway().AsSlice()...)
	inNetns(t, g.ns, "sending ARP from "+g.Tap, func() error {
		link, err := netlink.LinkByName(g.link)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Sendto(fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: link.Attrs().Index, Halen: 6, Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}})
	})
}

// neighbour waits for the host's neighbour entry for ip on the bridge and
// returns its MAC.
func neighbour(t *testing.T, ip netip.Addr) string {
	t.Helper()
	br, err := netlink.LinkByName(testConfig.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		neighs, err := netlink.NeighList(br.Attrs().Index, netlink.FAMILY_V4)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range neighs {
			if a, ok := netip.AddrFromSlice(n.IP); ok && a.Unmap() == ip && len(n.HardwareAddr) == 6 {
				return n.HardwareAddr.String()
			}
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGuestIPv6Dropped: IPv6 from a guest reaches neither the host nor
// another guest, even under the open policy.
func TestGuestIPv6Dropped(t *testing.T) {
	l := newLab(t)
	a := l.guest("bg-ga", "172.16.0.2")
	b := l.guest("bg-gb", "172.16.0.3")
	l.setPolicy(a, "open")
	l.setPolicy(b, "open")
	addV6 := func(link, addr string) error {
		ln, err := netlink.LinkByName(link)
		if err != nil {
			return err
		}
		a := mustAddr(addr)
		a.Flags = unix.IFA_F_NODAD
		return netlink.AddrAdd(ln, a)
	}
	mustDo(t, "adding IPv6 to the bridge", func() error { return addV6(l.c.Bridge, "fd00:b::1/64") })
	inNetns(t, a.ns, "adding IPv6 to guest a", func() error { return addV6(a.link, "fd00:b::2/64") })
	inNetns(t, b.ns, "adding IPv6 to guest b", func() error { return addV6(b.link, "fd00:b::3/64") })
	listen(t, netns.None(), netip.MustParseAddrPort("[fd00:b::1]:8080"))
	listen(t, b.ns, netip.MustParseAddrPort("[fd00:b::3]:8080"))
	expectReach(t, "guest a", a.ns, map[netip.AddrPort]bool{
		labGwSvc: true, // IPv4, as a control
		netip.MustParseAddrPort("[fd00:b::1]:8080"): false,
		netip.MustParseAddrPort("[fd00:b::3]:8080"): false,
	})
}
