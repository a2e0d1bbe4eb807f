package e2e

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// A probe is one destination a guest tries: a TCP connection that must
// bring back the listener's first line, or a name to resolve.
type probe struct {
	id   string // a word, as the guest script prints it
	host string // address or name; "" for a DNS-only probe
	port int
	name string // for a DNS probe: the name to resolve
}

// probeWindow bounds a whole probe run in the guest: a probe that has
// not got through by then did not (a dropped connection would hang for
// minutes). It is generous, as guests run emulated here.
const probeWindow = 8

// probeScript is the guest bash code that tries every probe at once and
// prints "id=yes" for each that got through. The probes are subshells
// of one bash, not new processes, which an emulated guest starts slowly.
func probeScript(probes []probe) string {
	var b strings.Builder
	// The guest's resolver caches answers, some from before a policy
	// change: every name is asked afresh.
	b.WriteString("resolvectl flush-caches 2>/dev/null\npids=\n")
	for _, p := range probes {
		if p.name != "" {
			fmt.Fprintf(&b, "(getent hosts %s >/dev/null && echo %s=yes) &\n", p.name, p.id)
		} else {
			fmt.Fprintf(&b, "(exec 3<>/dev/tcp/%s/%d && read -r -t %d line <&3 && [ -n \"$line\" ] && echo %s=yes) 2>/dev/null &\n",
				p.host, p.port, probeWindow, p.id)
		}
		b.WriteString("pids=\"$pids $!\"\n")
	}
	fmt.Fprintf(&b, "(sleep %d; kill $pids) 2>/dev/null &\nwatchdog=$!\nwait $pids\nkill $watchdog 2>/dev/null\nexit 0\n", probeWindow)
	return b.String()
}

// reach runs probes in the guest through `vm exec` (which needs no
// network) and returns the ids that got through.
func (n *vmNet) reach(t *testing.T, vm, prelude string, probes ...probe) []string {
	t.Helper()
	r := n.run("vm", "exec", vm, "--", "bash", "-c", prelude+probeScript(probes))
	if r.code != 0 {
		t.Fatalf("probing from %s: %s", vm, r)
	}
	var got []string
	for _, line := range strings.Fields(r.stdout) {
		if id, ok := strings.CutSuffix(line, "=yes"); ok {
			got = append(got, id)
		}
	}
	slices.Sort(got)
	return got
}

// wantReach checks that exactly want of probes got through.
func (n *vmNet) wantReach(t *testing.T, what, vm string, probes []probe, want ...string) {
	t.Helper()
	n.wantReachAfter(t, what, vm, "", probes, want...)
}

func (n *vmNet) wantReachAfter(t *testing.T, what, vm, prelude string, probes []probe, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := n.reach(t, vm, prelude, probes...); !slices.Equal(got, want) {
		t.Errorf("%s: %s reached %q, want exactly %q", what, vm, got, want)
		out, _ := exec.Command("ip", "netns", "exec", n.name, "nft", "list", "ruleset").CombinedOutput()
		t.Logf("the namespace's nftables rules:\n%s", out)
	}
}

// switchPolicy runs `vm network` and waits at most a second for the
// change to show from the guest: check reports whether it has.
func (n *vmNet) switchPolicy(t *testing.T, vm, policy string, p probe, reachable bool) {
	t.Helper()
	n.must(t, "vm", "network", vm, policy)
	eventually(t, time.Second, fmt.Sprintf("%s under %s reaching %s is %v", vm, policy, p.id, reachable), func() error {
		if got := len(n.reach(t, vm, "", p)) == 1; got != reachable {
			return fmt.Errorf("reached: %v", got)
		}
		return nil
	})
}

// TestNetworkPolicy checks what a guest reaches under each network policy,
// against an outside world of its own: a public address, the LAN, the
// metadata address, the host's own addresses and another guest. Two VMs
// are booted once; the policy of one is switched with `vm network`, each
// change checked from the guest within a second.
func TestNetworkPolicy(t *testing.T) {
	_, n := goldenVMNet(t, "")
	o := newOutside(t, n)
	for _, name := range []string{"probe", "peer"} {
		n.must(t, append([]string{"vm", "create", "--name", name}, e2eSize...)...)
	}
	v, peer := n.show(t, "probe"), n.show(t, "peer")
	if v.Network != "internet" || peer.Network != "internet" {
		t.Fatalf("default policies: %q and %q, want internet", v.Network, peer.Network)
	}
	hostListeners(t, n, portA) // the gateway exists now
	// The other guest listens too, answering "peer" to up to 1000
	// connections; the agent starts it, so it needs no network.
	n.must(t, "vm", "exec", "peer", "--", "setsid", "-f", "perl", "-MIO::Socket::INET", "-e",
		fmt.Sprintf(`$s = IO::Socket::INET->new(LocalPort => %d, Listen => 16, ReuseAddr => 1) or die "listen: $!"; for (1..1000) { $c = $s->accept or last; print $c "peer\n"; close $c }`, portA))
	var (
		public       = probe{id: "public", host: publicAddr, port: portA}
		publicB      = probe{id: "publicB", host: publicAddr, port: portB}
		otherPublic  = probe{id: "otherpublic", host: otherPublicAddr, port: portA}
		lan          = probe{id: "lan", host: lanAddr, port: portA}
		metadata     = probe{id: "metadata", host: metadataAddr, port: portA}
		host         = probe{id: "host", host: outsideHostAddr, port: portA}
		gateway      = probe{id: "gateway", host: gatewayAddr, port: portA}
		peerListener = probe{id: "peer", host: peer.IP, port: portA}
		byName       = probe{id: "byname", host: allowedName, port: portA}
		byNameB      = probe{id: "bynameB", host: allowedName, port: portB}
		dnsAllowed   = probe{id: "dnsallowed", name: allowedName}
		dnsOther     = probe{id: "dnsother", name: otherName}
		dnsPeer      = probe{id: "dnspeer", name: "peer.vm"}
	)
	all := []probe{public, publicB, otherPublic, lan, metadata, host, gateway, peerListener, dnsAllowed, dnsOther, dnsPeer}

	// internet: public addresses, the other guest and DNS; not the LAN,
	// the metadata service, nor any service of the host.
	n.wantReach(t, "internet", "probe", all, "public", "publicB", "otherpublic", "peer", "dnsallowed", "dnsother", "dnspeer")
	n.ssh(t, "probe", "true") // the host still starts connections in
	if err := o.dialGuest(t, v.IP); err == nil {
		t.Errorf("under internet the outside world connects to the guest's sshd")
	}

	// none: nothing, while vm exec works and ssh does not.
	n.switchPolicy(t, "probe", "none", public, false)
	// (Not allowedName: the guest's resolver would keep asking for it
	// after the probe, and be answered once the policy below allows it.)
	n.wantReach(t, "none", "probe", []probe{public, publicB, otherPublic, lan, metadata, host, gateway, peerListener, dnsOther, dnsPeer})
	if r := n.run("vm", "ssh", "probe", "--", "true"); r.code == 0 || !strings.Contains(r.stderr, "banger vm exec probe") {
		t.Errorf("ssh to a VM under none worked: %s", r)
	}
	if v := n.show(t, "probe"); v.Network != "none" {
		t.Errorf("vm show after vm network none: %q", v.Network)
	}

	// allow=: exactly what is listed. A domain's addresses open once the
	// guest has looked the name up through bangerd, on the listed port
	// only; other names do not resolve; .vm names do.
	n.switchPolicy(t, "probe", "allow="+lanAddr+","+allowedName+":"+fmt.Sprint(portA), lan, true)
	n.wantReach(t, "allow before a lookup", "probe", []probe{public, lan}, "lan")
	n.wantReachAfter(t, "allow after a lookup", "probe", "getent hosts "+allowedName+" >/dev/null\n",
		append(all, byName, byNameB), "lan", "public", "byname", "dnsallowed", "dnspeer")
	n.ssh(t, "probe", "true")

	// open: everything, the host and the LAN included.
	n.switchPolicy(t, "probe", "open", metadata, true)
	n.wantReach(t, "open", "probe", all, "public", "publicB", "otherpublic", "lan", "metadata", "host", "gateway", "peer", "dnsallowed", "dnsother", "dnspeer")

	// A guest that takes another address or MAC is cut off, even under
	// open; back on its own it is reachable again.
	gw := gatewayAddr
	spoofIP := fmt.Sprintf("ip addr flush dev eth0; ip addr add %s/24 dev eth0; ip route add default via %s\n", spareGuestAddr(v.IP, peer.IP), gw)
	restoreIP := fmt.Sprintf("ip addr flush dev eth0; ip addr add %s/24 dev eth0; ip route add default via %s\n", v.IP, gw)
	if got := n.reach(t, "probe", spoofIP, public, peerListener); len(got) != 0 {
		t.Errorf("with a spoofed address the guest reached %q", got)
	}
	n.run("vm", "exec", "probe", "--", "bash", "-c", restoreIP)
	eventually(t, 10*time.Second, "back on its own address", func() error {
		if got := n.reach(t, "probe", "", public); len(got) != 1 {
			return fmt.Errorf("public not reached")
		}
		return nil
	})
	setMAC := "ip link set eth0 down; ip link set eth0 address %s; ip link set eth0 up; ip route add default via " + gw + "\n"
	if got := n.reach(t, "probe", fmt.Sprintf(setMAC, "06:00:00:be:ef:01"), public, peerListener); len(got) != 0 {
		t.Errorf("with a spoofed MAC the guest reached %q", got)
	}
	n.run("vm", "exec", "probe", "--", "bash", "-c", fmt.Sprintf(setMAC, strings.ToLower(v.MAC)))
	eventually(t, 10*time.Second, "back on its own MAC", func() error {
		if got := n.reach(t, "probe", "", public); len(got) != 1 {
			return fmt.Errorf("public not reached")
		}
		return nil
	})

	// Back to internet: the LAN is gone again within a second.
	n.switchPolicy(t, "probe", "internet", lan, false)
}

// spareGuestAddr is an address of the bridge subnet that neither VM has.
func spareGuestAddr(taken ...string) string {
	for i := 250; ; i-- {
		a := fmt.Sprintf("172.16.0.%d", i)
		if !slices.Contains(taken, a) {
			return a
		}
	}
}

// dialGuest tries to connect from the outside world to a guest's sshd,
// routing the bridge subnet through the host as a LAN neighbour could.
func (o *outside) dialGuest(t *testing.T, ip string) error {
	t.Helper()
	sh(t, "ip", "-n", o.ns.name, "route", "replace", "172.16.0.0/24", "via", outsideHostAddr)
	var err error
	o.ns.inside(t, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var conn net.Conn
		if conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(ip, "22")); err == nil {
			conn.Close()
		}
		return nil
	})
	return err
}
