package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	miekg "github.com/miekg/dns"
)

// The outside world of a VM namespace: a second namespace behind a veth
// pair, which the VM namespace routes its default traffic to. Guests see
// it as the Internet, the LAN and the cloud metadata service.
const (
	outsideHostAddr = "198.18.0.1"   // the VM namespace's end of the veth: a host address, not the gateway
	outsideGateway  = "198.18.0.2"   // the outside namespace's end
	publicAddr      = "203.0.113.10" // TEST-NET-3: a public destination
	otherPublicAddr = "203.0.113.11" // a second one, for a name that is not allowed
	publicDNSAddr   = "203.0.113.53" // the host's resolver in the outside world
	lanAddr         = "192.168.77.10"
	metadataAddr    = "169.254.169.254"
	gatewayAddr     = "172.16.0.1" // the bridge's address, bangerd's DNS
	// Names the outside resolver answers for.
	allowedName = "allowed.test"
	otherName   = "other.test"
)

// The ports the outside listeners use; the host's listeners too.
const (
	portA = 8080
	portB = 9090
)

// outside is the stand-in for everything beyond the host.
type outside struct {
	ns *vmNet // the outside namespace, as a vmNet for inside and listen
}

// newOutside makes the outside namespace next to n's, joins the two with
// a veth pair, routes n's default traffic through it, and starts the
// listeners: on the public, the second public, the LAN and the metadata
// addresses (ports portA and portB each, answering "NAME:PORT"), and a
// resolver on publicDNSAddr that n's processes (bangerd among them) use
// as the host's. Everything goes at the end of the test.
func newOutside(t *testing.T, n *vmNet) *outside {
	t.Helper()
	name := n.name + "-out"
	o := &outside{ns: &vmNet{name: name, h: n.h}}
	vmSide, outSide := fmt.Sprintf("bgo%d", os.Getpid()%100000), fmt.Sprintf("bgi%d", os.Getpid()%100000)
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	sh(t, "ip", "-n", name, "link", "set", "lo", "up")
	sh(t, "ip", "-n", n.name, "link", "add", vmSide, "type", "veth", "peer", "name", outSide, "netns", name)
	sh(t, "ip", "-n", n.name, "addr", "add", outsideHostAddr+"/30", "dev", vmSide)
	sh(t, "ip", "-n", n.name, "link", "set", vmSide, "up")
	sh(t, "ip", "-n", n.name, "route", "add", "default", "via", outsideGateway)
	sh(t, "ip", "-n", name, "addr", "add", outsideGateway+"/30", "dev", outSide)
	sh(t, "ip", "-n", name, "link", "set", outSide, "up")
	for _, a := range []string{publicAddr, otherPublicAddr, publicDNSAddr, lanAddr, metadataAddr} {
		sh(t, "ip", "-n", name, "addr", "add", a+"/32", "dev", "lo")
	}
	for _, a := range []string{publicAddr, otherPublicAddr, lanAddr, metadataAddr} {
		for _, p := range []int{portA, portB} {
			serveToken(t, o.ns.listen(t, fmt.Sprintf("%s:%d", a, p)))
		}
	}
	o.serveDNS(t)
	// `ip netns exec` puts this file in place of /etc/resolv.conf for
	// everything run in n: bangerd forwards what is not .vm to it.
	etcDir := filepath.Join("/etc/netns", n.name)
	writeFile(t, filepath.Join(etcDir, "resolv.conf"), "nameserver "+publicDNSAddr+"\noptions timeout:1 attempts:1\n")
	t.Cleanup(func() { os.RemoveAll(etcDir) })
	return o
}

// hostListeners listens in n itself, on the host's address on the veth and
// on the gateway, on the given ports, answering "NAME:PORT" like the
// outside ones.
func hostListeners(t *testing.T, n *vmNet, port int) {
	t.Helper()
	for _, a := range []string{outsideHostAddr, gatewayAddr} {
		serveToken(t, n.listen(t, fmt.Sprintf("%s:%d", a, port)))
	}
}

// maxConns bounds what each test listener serves.
const maxConns = 1000

// serveToken answers each of up to maxConns connections with one line,
// the listener's address, and closes it. The listener is closed at the
// end of the test (see vmNet.listen).
func serveToken(t *testing.T, ln net.Listener) {
	token := ln.Addr().String() + "\n"
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range maxConns {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(token))
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
}

// serveDNS runs the outside world's resolver on publicDNSAddr:53, over
// UDP and TCP. It answers allowedName and otherName with an A record
// each and NXDOMAIN for the rest, for up to maxConns questions.
func (o *outside) serveDNS(t *testing.T) {
	t.Helper()
	var mu sync.Mutex
	asked := 0
	records := map[string]string{allowedName + ".": publicAddr, otherName + ".": otherPublicAddr}
	h := miekg.HandlerFunc(func(w miekg.ResponseWriter, req *miekg.Msg) {
		mu.Lock()
		asked++
		over := asked > maxConns
		mu.Unlock()
		m := new(miekg.Msg).SetReply(req)
		if over || len(req.Question) != 1 {
			w.WriteMsg(m.SetRcode(req, miekg.RcodeRefused))
			return
		}
		q := req.Question[0]
		addr, ok := records[strings.ToLower(q.Name)]
		switch {
		case !ok:
			m.Rcode = miekg.RcodeNameError
		case q.Qtype == miekg.TypeA:
			m.Answer = append(m.Answer, &miekg.A{
				Hdr: miekg.RR_Header{Name: q.Name, Rrtype: miekg.TypeA, Class: miekg.ClassINET, Ttl: 60},
				A:   netip.MustParseAddr(addr).AsSlice(),
			})
		}
		w.WriteMsg(m)
	})
	var pc net.PacketConn
	var ln net.Listener
	o.ns.inside(t, func() (err error) {
		if pc, err = net.ListenPacket("udp", publicDNSAddr+":53"); err != nil {
			return err
		}
		ln, err = net.Listen("tcp", publicDNSAddr+":53")
		return err
	})
	for _, srv := range []*miekg.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		done := make(chan struct{})
		go func() { defer close(done); srv.ActivateAndServe() }()
		select {
		case <-started:
			t.Cleanup(func() { srv.Shutdown(); <-done })
		case <-done:
			t.Fatalf("the outside resolver did not start on %s", publicDNSAddr)
		}
	}
}

// sh runs a host tool and fails the test when it fails.
func sh(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}
