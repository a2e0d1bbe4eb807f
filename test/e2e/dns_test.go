package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	miekg "github.com/miekg/dns"

	"banger/internal/doctor"
)

const bridgeDNS = "172.16.0.1:53"

// TestVMNames boots two VMs and checks their .vm names: bangerd answers
// for both on the bridge, over UDP and TCP; one guest reaches the other by
// name, with ssh; the host resolves them once its resolver points at the
// bridge, and doctor says so; a deleted VM's name is gone at once.
func TestVMNames(t *testing.T) {
	h, n := goldenVMNet(t, "")
	// The resolv.conf-only recipe of docs/dns-routing.md, for everything
	// run in the namespace (`ip netns exec` puts this file in place of
	// /etc/resolv.conf): bangerd, the CLI and ssh. It must not make
	// bangerd forward to itself.
	etcDir := filepath.Join("/etc/netns", n.name)
	writeFile(t, filepath.Join(etcDir, "resolv.conf"), "nameserver 172.16.0.1\noptions timeout:1 attempts:1\n")
	t.Cleanup(func() { os.RemoveAll(etcDir) })

	for _, name := range []string{"alpha", "beta"} {
		start := time.Now()
		n.must(t, "vm", "create", "--name", name, "--vcpu", "2", "--memory", "1024", "--disk-size", "2G")
		t.Logf("vm create %s to ready: %s", name, time.Since(start).Round(time.Millisecond))
	}
	alpha, beta := n.show(t, "alpha"), n.show(t, "beta")

	// bangerd answers on the bridge for both names, over UDP and TCP.
	for _, tc := range []struct{ proto, name, ip string }{{"udp", "alpha.vm.", alpha.IP}, {"tcp", "beta.vm.", beta.IP}, {"udp", "BETA.VM", beta.IP}} {
		if r := n.askDNS(t, tc.proto, tc.name, miekg.TypeA); r.Rcode != miekg.RcodeSuccess || answerA(r) != tc.ip {
			t.Errorf("%s over %s: %s %q, want %s", tc.name, tc.proto, miekg.RcodeToString[r.Rcode], answerA(r), tc.ip)
		}
	}
	if r := n.askDNS(t, "udp", "alpha.vm.", miekg.TypeAAAA); r.Rcode != miekg.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("AAAA alpha.vm: %s with %d answers, want NOERROR and none", miekg.RcodeToString[r.Rcode], len(r.Answer))
	}
	if r := n.askDNS(t, "udp", "nosuch.vm.", miekg.TypeA); r.Rcode != miekg.RcodeNameError {
		t.Errorf("nosuch.vm: %s, want NXDOMAIN", miekg.RcodeToString[r.Rcode])
	}
	// Outside .vm bangerd forwards to the host's resolvers; in this
	// namespace there are none it may use, so it fails at once.
	if r := n.askDNS(t, "udp", "example.org.", miekg.TypeA); r.Rcode != miekg.RcodeServerFailure {
		t.Errorf("example.org in a namespace without resolvers: %s, want SERVFAIL", miekg.RcodeToString[r.Rcode])
	}

	// From a guest: the other VM by name, and ssh to it by name.
	if out := n.ssh(t, "alpha", "getent hosts beta.vm"); !strings.HasPrefix(out, beta.IP+" ") {
		t.Errorf("getent hosts beta.vm in alpha: %q, want %s", out, beta.IP)
	}
	pub := strings.TrimSpace(n.ssh(t, "alpha", "ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/to_beta && cat /root/.ssh/to_beta.pub"))
	n.ssh(t, "beta", fmt.Sprintf("echo '%s' >> /root/.ssh/authorized_keys", pub))
	if out := n.ssh(t, "alpha", "ssh -i /root/.ssh/to_beta -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o ConnectTimeout=20 root@beta.vm hostname"); out != "beta\n" {
		t.Errorf("ssh from alpha to beta.vm ran on %q", out)
	}

	// From the host: ssh by name, through the host's resolver.
	sshOut, err := exec.Command("ip", "netns", "exec", n.name, "ssh",
		"-i", filepath.Join(envValue(h.env, "XDG_CONFIG_HOME"), "banger", "ssh", "id_ed25519"),
		"-o", "UserKnownHostsFile="+filepath.Join(h.state, "vms", "alpha", "known_hosts"),
		"-o", "HostKeyAlias=alpha", "-o", "BatchMode=yes", "-o", "ConnectTimeout=20",
		"root@alpha.vm", "hostname").CombinedOutput()
	if err != nil || string(sshOut) != "alpha\n" {
		t.Errorf("ssh root@alpha.vm from the host: %v: %s", err, sshOut)
	}
	if r := doctorResult(t, n, "vm names"); r.Status != doctor.Pass || !strings.Contains(r.Summary, ".vm resolves to") {
		t.Errorf("doctor with .vm routed: %+v", r)
	}

	// A deleted VM's name goes at once; the other's stays.
	n.must(t, "vm", "delete", "--force", "beta")
	eventually(t, time.Second, "beta.vm is NXDOMAIN after delete", func() error {
		if r := n.askDNS(t, "udp", "beta.vm.", miekg.TypeA); r.Rcode != miekg.RcodeNameError {
			return fmt.Errorf("got %s %s", miekg.RcodeToString[r.Rcode], answerA(r))
		}
		return nil
	})
	if r := n.askDNS(t, "tcp", "alpha.vm.", miekg.TypeA); answerA(r) != alpha.IP {
		t.Errorf("alpha.vm after beta's delete: %s %q", miekg.RcodeToString[r.Rcode], answerA(r))
	}

	// Without routing, doctor points to the recipes.
	os.Remove(filepath.Join(etcDir, "resolv.conf"))
	writeFile(t, filepath.Join(etcDir, "resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
	if r := doctorResult(t, n, "vm names"); r.Status != doctor.Warn || !strings.Contains(r.Fix, "docs/dns-routing.md") {
		t.Errorf("doctor without .vm routed: %+v", r)
	}
}

// askDNS sends one question to bangerd on the bridge from inside the
// namespace and returns the reply.
func (n *vmNet) askDNS(t *testing.T, proto, name string, qtype uint16) *miekg.Msg {
	t.Helper()
	conn := n.dial(t, proto, bridgeDNS)
	defer conn.Close()
	c := &miekg.Conn{Conn: conn}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	q := new(miekg.Msg).SetQuestion(miekg.Fqdn(name), qtype)
	if err := c.WriteMsg(q); err != nil {
		t.Fatalf("asking %s for %s over %s: %v", bridgeDNS, name, proto, err)
	}
	r, err := c.ReadMsg()
	if err != nil {
		t.Fatalf("asking %s for %s over %s: %v", bridgeDNS, name, proto, err)
	}
	return r
}

// dial connects from inside the namespace.
func (n *vmNet) dial(t *testing.T, proto, addr string) net.Conn {
	t.Helper()
	var conn net.Conn
	n.inside(t, func() (err error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err = (&net.Dialer{}).DialContext(ctx, proto, addr)
		return err
	})
	return conn
}

func answerA(m *miekg.Msg) string {
	for _, rr := range m.Answer {
		if a, ok := rr.(*miekg.A); ok {
			return a.A.String()
		}
	}
	return ""
}

// doctorResult runs `banger doctor --json` in the namespace and returns
// the named check's result. Doctor may exit 1 for checks of this host
// that have nothing to do with the test.
func doctorResult(t *testing.T, n *vmNet, name string) doctor.Result {
	t.Helper()
	r := n.run("doctor", "--json")
	var results []doctor.Result
	if err := json.Unmarshal([]byte(r.stdout), &results); err != nil {
		t.Fatalf("banger doctor --json: %v\n%s", err, r)
	}
	for _, res := range results {
		if res.Name == name {
			return res
		}
	}
	t.Fatalf("banger doctor has no %q check:\n%s", name, r.stdout)
	return doctor.Result{}
}
