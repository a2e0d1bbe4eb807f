package network

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// A lab stands in for VMs without VMs: banger's bridge in the test's
// namespace (the host), each guest a namespace joined to the bridge by a
// veth whose host end carries a tap's name (the rules key on tap names,
// not on the kind of link), and one more namespace, joined by a veth
// wan0, for the world: a public (TEST-NET) address, a LAN address and the
// metadata address, each with a listener.
type lab struct {
	t     *testing.T
	c     Config
	world netns.NsHandle
}

// Addresses of the lab.
var (
	labPublic   = netip.MustParseAddrPort("203.0.113.10:8080")
	labLAN      = netip.MustParseAddrPort("192.168.77.10:8080")
	labMetadata = netip.MustParseAddrPort("169.254.169.254:80")
	labHostWAN  = netip.MustParseAddrPort("192.0.2.1:8080")  // a host service on an address that is not the gateway
	labGwSvc    = netip.MustParseAddrPort("172.16.0.1:8080") // a host service on the gateway
	labGwDNS    = netip.MustParseAddrPort("172.16.0.1:53")
)

type labGuest struct {
	Guest
	ns   netns.NsHandle
	link string // its end of the veth, in ns
}

func newLab(t *testing.T) *lab {
	t.Helper()
	needNetns(t)
	l := &lab{t: t, c: testConfig}
	l.world = newNetns(t)
	wan := l.veth("wan0", "wp0", l.world)
	mustDo(t, "setting up wan0", func() error {
		if err := netlink.AddrAdd(wan, mustAddr("192.0.2.1/24")); err != nil {
			return err
		}
		if err := netlink.LinkSetUp(wan); err != nil {
			return err
		}
		return netlink.RouteAdd(&netlink.Route{Gw: net.ParseIP("192.0.2.2")})
	})
	inNetns(t, l.world, "setting up the world", func() error {
		lo, _ := netlink.LinkByName("lo")
		wp, err := netlink.LinkByName("wp0")
		if err != nil {
			return err
		}
		for _, a := range []string{"203.0.113.10/32", "192.168.77.10/32", "169.254.169.254/32"} {
			if err := netlink.AddrAdd(lo, mustAddr(a)); err != nil {
				return err
			}
		}
		if err := netlink.AddrAdd(wp, mustAddr("192.0.2.2/24")); err != nil {
			return err
		}
		for _, link := range []netlink.Link{lo, wp} {
			if err := netlink.LinkSetUp(link); err != nil {
				return err
			}
		}
		return netlink.RouteAdd(&netlink.Route{Dst: mustIPNet(testConfig.Subnet.String()), Gw: net.ParseIP("192.0.2.1")})
	})
	setupBridge(t, l.c)
	for _, a := range []netip.AddrPort{labPublic, labLAN, labMetadata} {
		listen(t, l.world, a)
	}
	for _, a := range []netip.AddrPort{labHostWAN, labGwSvc, labGwDNS} {
		listen(t, netns.None(), a)
	}
	return l
}

// guest adds a stand-in guest with address ip on a veth named tap, and
// enters the tap the way EnsureTap does; it has no policy yet.
func (l *lab) guest(tap, ip string) *labGuest {
	t := l.t
	t.Helper()
	addr := netip.MustParseAddr(ip)
	g := &labGuest{Guest: Guest{Tap: tap, IP: addr, MAC: GuestMAC(addr)}, ns: newNetns(t), link: "gp-" + tap[len(TapPrefix):]}
	host := l.veth(tap, g.link, g.ns)
	br, err := netlink.LinkByName(l.c.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	mustDo(t, "plugging "+tap, func() error {
		if err := netlink.LinkSetMaster(host, br); err != nil {
			return err
		}
		return netlink.LinkSetUp(host)
	})
	inNetns(t, g.ns, "setting up guest "+ip, func() error {
		lo, _ := netlink.LinkByName("lo")
		eth, err := netlink.LinkByName(g.link)
		if err != nil {
			return err
		}
		mac, _ := net.ParseMAC(g.MAC)
		if err := netlink.LinkSetHardwareAddr(eth, mac); err != nil {
			return err
		}
		if err := netlink.AddrAdd(eth, mustAddr(ip+"/24")); err != nil {
			return err
		}
		for _, link := range []netlink.Link{lo, eth} {
			if err := netlink.LinkSetUp(link); err != nil {
				return err
			}
		}
		return netlink.RouteAdd(&netlink.Route{Gw: l.c.Gateway().AsSlice()})
	})
	if err := enterTap(0, l.c, tap); err != nil {
		t.Fatalf("entering %s: %v", tap, err)
	}
	listen(t, g.ns, netip.AddrPortFrom(addr, 8080))
	return g
}

func (l *lab) setPolicy(g *labGuest, policy string) {
	l.t.Helper()
	p, err := ParsePolicy(policy)
	if err != nil {
		l.t.Fatal(err)
	}
	if err := SetPolicy(l.c, g.Guest, p); err != nil {
		l.t.Fatalf("SetPolicy(%s, %s): %v", g.Tap, policy, err)
	}
}

// veth adds a veth pair, hostName here and peer in ns.
func (l *lab) veth(hostName, peer string, ns netns.NsHandle) netlink.Link {
	t := l.t
	t.Helper()
	host := addLink(t, &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: hostName}, PeerName: peer})
	p, err := netlink.LinkByName(peer)
	if err == nil {
		err = netlink.LinkSetNsFd(p, int(ns))
	}
	if err != nil {
		t.Fatalf("moving %s: %v", peer, err)
	}
	return host
}

// newNetns makes a network namespace, gone when the test ends.
func newNetns(t *testing.T) netns.NsHandle {
	t.Helper()
	var ns netns.NsHandle
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread, now in ns, ends with the goroutine
		ns, err = netns.New()
	}()
	<-done
	if err != nil {
		t.Fatalf("making a network namespace: %v", err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// inNetns runs f on a thread in ns (the test's own for netns.None()).
func inNetns(t *testing.T, ns netns.NsHandle, what string, f func() error) {
	t.Helper()
	if err := runIn(ns, f); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func runIn(ns netns.NsHandle, f func() error) error {
	if !ns.IsOpen() {
		return f()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked, as the thread leaves the test's namespace
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

func mustDo(t *testing.T, what string, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mustAddr(s string) *netlink.Addr {
	a, err := netlink.ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

// listen serves TCP on addr in ns, echoing what each connection sends,
// until the test ends.
func listen(t *testing.T, ns netns.NsHandle, addr netip.AddrPort) {
	t.Helper()
	var ln net.Listener
	inNetns(t, ns, "listening on "+addr.String(), func() (err error) {
		ln, err = net.Listen("tcp", addr.String())
		return err
	})
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed at the end of the test
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				_, _ = io.Copy(c, c)
			}()
		}
	}()
}

// dialTimeout bounds each connection attempt; a dropped SYN shows as a
// timeout.
const dialTimeout = 700 * time.Millisecond

// connect opens a TCP connection from ns (from src, when valid) to dst
// and checks that it echoes.
func connect(ns netns.NsHandle, src netip.Addr, dst netip.AddrPort) (net.Conn, error) {
	var c net.Conn
	err := runIn(ns, func() (err error) {
		d := net.Dialer{Timeout: dialTimeout}
		if src.IsValid() {
			d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
		}
		c, err = d.Dial("tcp", dst.String())
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := echo(c, "hello"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// echo sends msg on c and waits, briefly, for it to come back.
func echo(c net.Conn, msg string) error {
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if !bytes.Equal(buf, []byte(msg)) {
		return errors.New("echo differs")
	}
	return nil
}

// reach says whether a connection from ns to dst works.
func reach(ns netns.NsHandle, dst netip.AddrPort) bool {
	c, err := connect(ns, netip.Addr{}, dst)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// expectReach checks, all at once, which destinations ns reaches.
func expectReach(t *testing.T, who string, ns netns.NsHandle, want map[netip.AddrPort]bool) {
	t.Helper()
	var mu sync.Mutex
	var wrong []string
	var wg sync.WaitGroup
	for dst, ok := range want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := reach(ns, dst); got != ok {
				mu.Lock()
				wrong = append(wrong, fmt.Sprintf("%s reaches %s: %v, want %v", who, dst, got, ok))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(wrong) > 0 {
		t.Error(strings.Join(wrong, "\n"))
	}
}
