package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"banger/internal/errdefs"
)

// These tests run in the namespace TestMain made (see needNetns) and check
// what an administrator would see, through `ip -j` and `nft -j` as well as
// netlink.

var testConfig = Config{Bridge: "banger0", Subnet: netip.MustParsePrefix("172.16.0.0/24")}

// setupBridge runs EnsureBridge and removes banger's network when the test
// ends.
func setupBridge(t *testing.T, c Config) {
	t.Helper()
	if err := EnsureBridge(c); err != nil {
		t.Fatalf("EnsureBridge(%+v): %v", c, err)
	}
	t.Cleanup(func() {
		if err := Teardown(c); err != nil {
			t.Errorf("Teardown: %v", err)
		}
	})
}

// setupBridgeAs is setupBridge for the helper acting for uid.
func setupBridgeAs(t *testing.T, uid int, c Config) {
	t.Helper()
	if err := ensureBridge(uid, c); err != nil {
		t.Fatalf("EnsureBridge(%+v) as uid %d: %v", c, uid, err)
	}
	t.Cleanup(func() {
		if err := teardown(uid, c); err != nil {
			t.Errorf("Teardown as uid %d: %v", uid, err)
		}
	})
}

// run runs a command and returns its standard output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// ipLink is the part of `ip -j -d addr show` the tests look at.
type ipLink struct {
	Name     string   `json:"ifname"`
	Flags    []string `json:"flags"`
	Master   string   `json:"master"`
	Address  string   `json:"address"`
	Alias    string   `json:"ifalias"`
	LinkInfo struct {
		Kind string `json:"info_kind"`
		Data struct {
			Type       string `json:"type"`
			PI         *bool  `json:"pi"`
			VnetHdr    bool   `json:"vnet_hdr"`
			MultiQueue bool   `json:"multi_queue"`
			Persist    bool   `json:"persist"`
			User       any    `json:"user"`
		} `json:"info_data"`
	} `json:"linkinfo"`
	Addrs []struct {
		Family    string `json:"family"`
		Local     string `json:"local"`
		PrefixLen int    `json:"prefixlen"`
	} `json:"addr_info"`
}

func showLink(t *testing.T, name string) ipLink {
	t.Helper()
	var links []ipLink
	if err := json.Unmarshal([]byte(run(t, "ip", "-j", "-d", "addr", "show", "dev", name)), &links); err != nil || len(links) != 1 {
		t.Fatalf("parsing `ip -j -d addr show dev %s`: %v (%d links)", name, err, len(links))
	}
	return links[0]
}

func (l ipLink) ipv4() []string {
	var out []string
	for _, a := range l.Addrs {
		if a.Family == "inet" {
			out = append(out, fmt.Sprintf("%s/%d", a.Local, a.PrefixLen))
		}
	}
	return out
}

func linkExists(t *testing.T, name string) bool {
	t.Helper()
	l, err := linkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return l != nil
}

// nftTable returns `nft -j list table ip NAME`, or "" when there is no
// such table.
func nftTable(t *testing.T, family, name string) string {
	t.Helper()
	out, err := exec.Command("nft", "-j", "list", "table", family, name).Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// nftRules returns the rules of root's tables for banger0 as nft prints
// them.
func nftRules(t *testing.T) string {
	t.Helper()
	name := TableName(0, "banger0")
	return run(t, "nft", "list", "table", "inet", name) + run(t, "nft", "list", "table", "bridge", name)
}

func TestEnsureBridge(t *testing.T) {
	needNetns(t)
	setupBridge(t, testConfig)

	br := showLink(t, "banger0")
	if br.LinkInfo.Kind != "bridge" || !slices.Contains(br.Flags, "UP") {
		t.Errorf("banger0 is a %q with flags %v, want an UP bridge", br.LinkInfo.Kind, br.Flags)
	}
	if got := br.ipv4(); !slices.Equal(got, []string{"172.16.0.1/24"}) {
		t.Errorf("banger0 IPv4 addresses = %v, want [172.16.0.1/24]", got)
	}
	if br.Address != "06:00:ac:10:00:01" || br.Alias != "banger uid=0" {
		t.Errorf("banger0 MAC %s alias %q, want 06:00:ac:10:00:01 and \"banger uid=0\"", br.Address, br.Alias)
	}
	if fwd := strings.TrimSpace(run(t, "sysctl", "-n", "net.ipv4.ip_forward")); fwd != "1" {
		t.Errorf("net.ipv4.ip_forward = %s, want 1", fwd)
	}
	rules := nftRules(t)
	for _, want := range []string{
		`ip saddr 172.16.0.0/24 oifname != "banger0" counter packets 0 bytes 0 masquerade`,
		`type nat hook postrouting priority srcnat; policy accept;`,
		`type filter hook forward priority filter; policy accept;`,
		`iifname "banger0" jump from-guests`,
		`oifname "banger0" jump to-guests`,
		`iifname "banger0" jump guest-host`,
		`ip daddr 169.254.0.0/16 counter packets 0 bytes 0 drop`,
		`iifname vmap @ports`,
		`iifname @taps counter packets 0 bytes 0 drop`,
	} {
		if !strings.Contains(rules, want) {
			t.Errorf("banger's tables lack %q:\n%s", want, rules)
		}
	}
}

func TestEnsureBridgeTwiceChangesNothing(t *testing.T) {
	needNetns(t)
	setupBridge(t, testConfig)
	snapshot := func() string {
		return run(t, "ip", "-j", "-4", "addr", "show", "dev", "banger0") + run(t, "ip", "-j", "link", "show", "dev", "banger0") +
			nftTable(t, "inet", TableName(0, "banger0")) + nftTable(t, "bridge", TableName(0, "banger0"))
	}
	before := snapshot()
	if err := EnsureBridge(testConfig); err != nil {
		t.Fatalf("second EnsureBridge: %v", err)
	}
	if after := snapshot(); after != before {
		t.Errorf("second EnsureBridge changed the host:\nbefore %s\nafter  %s", before, after)
	}
}

func TestEnsureBridgeFollowsANewSubnet(t *testing.T) {
	needNetns(t)
	setupBridge(t, testConfig)
	moved := Config{Bridge: "banger0", Subnet: netip.MustParsePrefix("10.99.0.0/16")}
	if err := EnsureBridge(moved); err != nil {
		t.Fatalf("EnsureBridge with a new subnet: %v", err)
	}
	if got := showLink(t, "banger0").ipv4(); !slices.Equal(got, []string{"10.99.0.1/16"}) {
		t.Errorf("banger0 IPv4 addresses = %v, want only [10.99.0.1/16]", got)
	}
	if rules := nftRules(t); !strings.Contains(rules, "ip saddr 10.99.0.0/16") || strings.Contains(rules, "172.16.0.0/24") {
		t.Errorf("nft table not moved to 10.99.0.0/16:\n%s", rules)
	}
}

func TestEnsureBridgeRefusesOthersInterfaces(t *testing.T) {
	needNetns(t)
	addUnrelated(t, "notabridge")
	addLink(t, &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br-other"}})
	for _, name := range []string{"notabridge", "br-other"} {
		c := Config{Bridge: name, Subnet: testConfig.Subnet}
		err := EnsureBridge(c)
		if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "set bridge_name") {
			t.Errorf("EnsureBridge on %s = %v, want failed_precondition advising bridge_name", name, err)
		}
		if err := Teardown(c); err == nil {
			t.Errorf("Teardown naming %s succeeded, want an error saying it was left alone", name)
		}
		if !linkExists(t, name) {
			t.Errorf("%s was removed; it is not banger's", name)
		}
	}
	if showLink(t, "br-other").ipv4() != nil {
		t.Errorf("br-other was given an address")
	}
}

func TestEnsureBridgeRefusesOverlap(t *testing.T) {
	needNetns(t)
	lan := addUnrelated(t, "lan0")
	addr, _ := netlink.ParseAddr("10.77.0.5/16")
	if err := netlink.AddrAdd(lan, addr); err != nil {
		t.Fatal(err)
	}
	err := EnsureBridge(Config{Bridge: "banger0", Subnet: netip.MustParsePrefix("10.77.3.0/24")})
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "lan0") || !strings.Contains(err.Error(), "set bridge_subnet") {
		t.Errorf("EnsureBridge overlapping lan0 = %v, want failed_precondition naming lan0 and bridge_subnet", err)
	}
	if linkExists(t, "banger0") {
		t.Errorf("banger0 was created despite the overlap")
	}
}

// addUnrelated adds an interface banger has nothing to do with: a dummy,
// or one end of a veth pair where the kernel has no dummy driver.
func addUnrelated(t *testing.T, name string) netlink.Link {
	t.Helper()
	err := netlink.LinkAdd(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: name}})
	if errors.Is(err, unix.EOPNOTSUPP) {
		err = netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name[:min(len(name), 13)] + "-p"})
	}
	if err != nil {
		t.Fatalf("adding %s: %v", name, err)
	}
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(l) })
	return l
}

func addLink(t *testing.T, l netlink.Link) netlink.Link {
	t.Helper()
	if err := netlink.LinkAdd(l); err != nil {
		t.Fatalf("adding %s: %v", l.Attrs().Name, err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(l) })
	got, err := netlink.LinkByName(l.Attrs().Name)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestEnsureTap(t *testing.T) {
	needNetns(t)
	const owner = 4242
	setupBridgeAs(t, owner, testConfig)
	tap := TapName("vm1")
	if err := ensureTap(owner, testConfig, tap, owner, false); err != nil {
		t.Fatalf("EnsureTap: %v", err)
	}
	l := showLink(t, tap)
	d := l.LinkInfo.Data
	if l.LinkInfo.Kind != "tun" || d.Type != "tap" || d.PI == nil || *d.PI || !d.VnetHdr || d.MultiQueue || !d.Persist {
		t.Errorf("%s is %+v, want a persistent tap without packet info, with a vnet header", tap, l.LinkInfo)
	}
	if !ownedBy(d.User, owner) {
		t.Errorf("%s is owned by %v, want uid %d", tap, d.User, owner)
	}
	if l.Master != "banger0" || !slices.Contains(l.Flags, "UP") {
		t.Errorf("%s has master %q and flags %v, want UP on banger0", tap, l.Master, l.Flags)
	}

	before := run(t, "ip", "-j", "link", "show", "dev", tap)
	if err := ensureTap(owner, testConfig, tap, owner, false); err != nil {
		t.Fatalf("second EnsureTap: %v", err)
	}
	if after := run(t, "ip", "-j", "link", "show", "dev", tap); after != before {
		t.Errorf("second EnsureTap changed the tap:\nbefore %s\nafter  %s", before, after)
	}

	if err := ensureTap(owner, testConfig, tap, owner+1, false); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("EnsureTap by uid %d for uid %d = %v, want invalid_argument", owner, owner+1, err)
	}
	if l := showLink(t, tap); !ownedBy(l.LinkInfo.Data.User, owner) {
		t.Errorf("after a refused EnsureTap, %s is owned by %v, want uid %d", tap, l.LinkInfo.Data.User, owner)
	}
}

// TestUnpluggedTap: a tap can be made, or taken, off the bridge while up,
// and ensuring it plainly plugs it in.
func TestUnpluggedTap(t *testing.T) {
	needNetns(t)
	setupBridge(t, testConfig)
	tap := TapName("vm2")
	for _, step := range []struct {
		name      string
		ensure    func(Config, string, int) error
		wantOnBr0 bool
	}{
		{"EnsureUnpluggedTap", EnsureUnpluggedTap, false},
		{"EnsureTap", EnsureTap, true},
		{"EnsureUnpluggedTap again", EnsureUnpluggedTap, false},
	} {
		if err := step.ensure(testConfig, tap, 0); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		l := showLink(t, tap)
		if (l.Master == "banger0") != step.wantOnBr0 || !slices.Contains(l.Flags, "UP") {
			t.Errorf("after %s, %s has master %q and flags %v; want on banger0: %v, and UP", step.name, tap, l.Master, l.Flags, step.wantOnBr0)
		}
	}
}

// ownedBy reports whether ip's "user" field, a name or a number, is uid.
func ownedBy(user any, uid int) bool {
	switch v := user.(type) {
	case float64:
		return int(v) == uid
	case string:
		return v == lookupUser(uid)
	}
	return false
}

func lookupUser(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

func TestTapOpensOnlyForItsOwner(t *testing.T) {
	needNetns(t)
	const owner = 4242
	setupBridgeAs(t, owner, testConfig)
	tap := TapName("vm4")
	if err := ensureTap(owner, testConfig, tap, owner, false); err != nil {
		t.Fatalf("EnsureTap: %v", err)
	}
	exe, dev := unprivilegedKit(t)
	if out, err := openTapAs(exe, dev, tap, owner); err != nil {
		t.Errorf("uid %d cannot open its tap %s: %v: %s", owner, tap, err, out)
	}
	if out, err := openTapAs(exe, dev, tap, owner+1); err == nil || !strings.Contains(out, "operation not permitted") {
		t.Errorf("uid %d opening %s = %v: %s; want operation not permitted", owner+1, tap, err, out)
	}
}

// unprivilegedKit returns a copy of the test binary and a tun device node
// that any user may run and open. The node is the test's own, since the
// host's /dev/net/tun may be root-only; the kernel's check of the tap's
// owner is the same whichever node is used.
func unprivilegedKit(t *testing.T) (exe, dev string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "banger-network-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	exe, dev = filepath.Join(dir, "network.test"), filepath.Join(dir, "tun")
	if err := copyFile(self, exe); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(10, 200))); err != nil {
		t.Skipf("cannot make a tun device node in %s: %v", dir, err)
	}
	for path, mode := range map[string]os.FileMode{dir: 0o755, dev: 0o666} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	return exe, dev
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func openTapAs(exe, dev, tap string, uid int) (string, error) {
	cmd := exec.Command(exe)
	cmd.Env = []string{envOpenTap + "=" + tap, envTunDevice + "=" + dev}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestEnsureTapNeedsBridge(t *testing.T) {
	needNetns(t)
	err := EnsureTap(Config{Bridge: "nobridge0", Subnet: testConfig.Subnet}, "bg-lonely", 0)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "bridge nobridge0 does not exist") {
		t.Errorf("EnsureTap without its bridge = %v, want failed_precondition naming the bridge", err)
	}
	if linkExists(t, "bg-lonely") {
		t.Errorf("bg-lonely was created without a bridge")
	}
}

func TestDeleteTap(t *testing.T) {
	needNetns(t)
	setupBridge(t, testConfig)
	tap := TapName("vm3")
	if err := EnsureTap(testConfig, tap, 0); err != nil {
		t.Fatalf("EnsureTap: %v", err)
	}
	for i := range 2 {
		if err := DeleteTap(tap); err != nil {
			t.Fatalf("DeleteTap #%d: %v", i+1, err)
		}
	}
	if out, err := exec.Command("ip", "link", "show", "dev", tap).CombinedOutput(); err == nil {
		t.Errorf("ip link show dev %s still finds it:\n%s", tap, out)
	}

	addUnrelated(t, "bg-dummy")
	if err := DeleteTap("bg-dummy"); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("DeleteTap of a non-tap = %v, want failed_precondition", err)
	}
	if !linkExists(t, "bg-dummy") {
		t.Errorf("DeleteTap removed bg-dummy, which is not a tap")
	}
	if err := DeleteTap("lo"); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("DeleteTap(lo) = %v, want invalid_argument", err)
	}
}

func TestTeardownRemovesOnlyBangers(t *testing.T) {
	needNetns(t)
	addUnrelated(t, "keep0")
	addUnrelated(t, "bg-notmine")
	run(t, "nft", "add", "table", "inet", "keepme")
	t.Cleanup(func() { _ = exec.Command("nft", "delete", "table", "inet", "keepme").Run() })
	keepTable := nftTable(t, "inet", "keepme")

	setupBridge(t, testConfig)
	taps := []string{TapName("a"), TapName("b")}
	for _, tap := range taps {
		if err := EnsureTap(testConfig, tap, 0); err != nil {
			t.Fatalf("EnsureTap(%s): %v", tap, err)
		}
	}
	for i := range 2 {
		if err := Teardown(testConfig); err != nil {
			t.Fatalf("Teardown #%d: %v", i+1, err)
		}
	}
	for _, gone := range append(taps, "banger0") {
		if linkExists(t, gone) {
			t.Errorf("%s survived Teardown", gone)
		}
	}
	for _, family := range []string{"inet", "bridge"} {
		if got := nftTable(t, family, TableName(0, "banger0")); got != "" {
			t.Errorf("nft table %s %s survived Teardown:\n%s", family, TableName(0, "banger0"), got)
		}
	}
	for _, kept := range []string{"keep0", "bg-notmine"} {
		if !linkExists(t, kept) {
			t.Errorf("Teardown removed %s, which is not banger's", kept)
		}
	}
	if got := nftTable(t, "inet", "keepme"); got != keepTable || got == "" {
		t.Errorf("Teardown changed nft table inet keepme: %q, was %q", got, keepTable)
	}
	if fwd := strings.TrimSpace(run(t, "sysctl", "-n", "net.ipv4.ip_forward")); fwd != "1" {
		t.Errorf("Teardown set net.ipv4.ip_forward to %s; it must leave it", fwd)
	}
}
