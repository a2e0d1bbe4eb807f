package agent

import (
	"banger/internal/agent/agentproto"
	"bytes"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
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

// TestConfiguredFile: the wait for networkd ends only once its state
// file says the link is configured with the file the agent wrote, not
// with the image's fallback file the template was configured with.
func TestConfiguredFile(t *testing.T) {
	template := "# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=carrier\nNETWORK_FILE=/etc/systemd/network/99-zz-banger-eth0.network\n"
	configuring := "ADMIN_STATE=configuring\nNETWORK_FILE=" + networkFile + "\n"
	applied := "ADMIN_STATE=configured\nOPER_STATE=routable\nNETWORK_FILE=" + networkFile + "\nDNS=172.16.0.1\n"
	for _, c := range []struct {
		state string
		want  bool
	}{{template, false}, {configuring, false}, {applied, true}, {"", false}} {
		if got := configuredFile(c.state) == networkFile; got != c.want {
			t.Errorf("configuredFile(%q) == %q is %v, want %v", c.state, networkFile, got, c.want)
		}
	}
}

// TestSameResolution: networkd's reload waits for after the answer only
// when the file it uses already gives the clone's gateway and DNS servers
// (the generator's sections or ours); any difference, or no file, makes
// it happen before.
func TestSameResolution(t *testing.T) {
	dir := t.TempDir()
	generated := filepath.Join(dir, "90-eth0.network")
	writeTestFile(t, generated, "[Match]\nName=eth0\n\n[Network]\nDHCP=no\nDNS=172.16.0.1\n\n[Address]\nAddress=172.16.0.3/24\n\n[Route]\nGateway=172.16.0.1\n")
	ours := filepath.Join(dir, "70-eth0.network")
	writeTestFile(t, ours, networkUnit(netip.MustParsePrefix("172.16.0.9/24"), agentproto.Identity{Gateway: "172.16.0.1", DNS: []string{"9.9.9.9", "172.16.0.1"}}))
	id := func(gw string, dns ...string) agentproto.Identity { return agentproto.Identity{Gateway: gw, DNS: dns} }
	for _, c := range []struct {
		path string
		id   agentproto.Identity
		want bool
	}{
		{generated, id("172.16.0.1", "172.16.0.1"), true},
		{generated, id("172.16.0.254", "172.16.0.1"), false},
		{generated, id("172.16.0.1", "172.16.0.1", "9.9.9.9"), false},
		{generated, id("", "172.16.0.1"), false},
		{ours, id("172.16.0.1", "172.16.0.1", "9.9.9.9"), true},
		{ours, id("172.16.0.1", "9.9.9.9"), false},
		{filepath.Join(dir, "missing.network"), id("172.16.0.1", "172.16.0.1"), false},
		{"", id("172.16.0.1", "172.16.0.1"), false},
	} {
		if got := sameResolution(c.path, c.id); got != c.want {
			t.Errorf("sameResolution(%s, gateway %q, DNS %q) = %v, want %v", filepath.Base(c.path), c.id.Gateway, c.id.DNS, got, c.want)
		}
	}
}

// TestNicedPutsThePriorityBack: a later step's daemon runs at the lowest
// priority while the step runs, and at its own after.
func TestNicedPutsThePriorityBack(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("raising a priority again needs root")
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := cmd.Process.Pid
	nice := func() int {
		p, err := unix.Getpriority(unix.PRIO_PROCESS, pid)
		if err != nil {
			t.Fatal(err)
		}
		return 20 - p
	}
	before := nice()
	var during int
	if err := niced([]int{pid}, func() error { during = nice(); return nil }); err != nil {
		t.Fatal(err)
	}
	if during != 19 || nice() != before {
		t.Errorf("nice during the step %d, after %d; want 19, then %d again", during, nice(), before)
	}
	if got := pidsNamed("sleep"); !slices.Contains(got, pid) {
		t.Errorf("pidsNamed(sleep) = %v, want it to hold %d", got, pid)
	}
}

func writeTestFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestManagedIn: a template's clone owns eth0 when networkd says it
// leaves the link alone, or when there is no networkd.
func TestManagedIn(t *testing.T) {
	for _, c := range []struct {
		state string
		want  bool
	}{
		{"# This is private data. Do not parse.\nADMIN_STATE=unmanaged\nOPER_STATE=off\n", false},
		{"", false},
		{"# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=routable\n", true},
		{"# This is private data. Do not parse.\nADMIN_STATE=configuring\n", true},
	} {
		if got := managedIn(c.state); got != c.want {
			t.Errorf("managedIn(%q) = %v, want %v", c.state, got, c.want)
		}
	}
}

// TestResolvedLink: the DNS servers go to resolved as (family, bytes)
// pairs, IPv4 in four bytes; a bad address is refused, naming it.
func TestResolvedLink(t *testing.T) {
	l, err := newResolvedLink(2, []string{"172.16.0.1", "fd00::53"})
	if err != nil {
		t.Fatal(err)
	}
	want := []dnsServer{{unix.AF_INET, []byte{172, 16, 0, 1}}, {unix.AF_INET6, netip.MustParseAddr("fd00::53").AsSlice()}}
	if l.ifindex != 2 || !reflect.DeepEqual(l.servers, want) {
		t.Errorf("newResolvedLink = %+v, want ifindex 2 and %v", l, want)
	}
	if _, err := newResolvedLink(2, []string{"dns.example"}); err == nil || !strings.Contains(err.Error(), "dns.example") {
		t.Errorf("a DNS server that is no address: %v", err)
	}
}
