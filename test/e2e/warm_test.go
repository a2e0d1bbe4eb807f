package e2e

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// e2eSize is the size of every VM the tests make, so that they all
// restore from one warm template.
var e2eSize = []string{"--vcpu", "2", "--memory", "1024"}

// TestWarmStart restores two VMs from one template and checks that they
// are different machines: names, addresses, MACs, machine and boot ids,
// ssh host keys, clocks, disks. A damaged template falls back to a cold
// boot.
func TestWarmStart(t *testing.T) {
	h, n := goldenVMNet(t, "")

	type facts struct{ hostname, ip, mac, machineID, bootID, hostKey string }
	look := func(name string) facts {
		t.Helper()
		out := n.ssh(t, name, `hostname; ip -4 -o addr show eth0 | awk '{print $4}'; cat /sys/class/net/eth0/address; cat /etc/machine-id /proc/sys/kernel/random/boot_id; cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub`)
		f := strings.Fields(out)
		if len(f) != 6 {
			t.Fatalf("facts of %s: %q", name, out)
		}
		return facts{f[0], f[1], f[2], f[3], f[4], f[5]}
	}

	for _, name := range []string{"w1", "w2"} {
		start := time.Now()
		r := n.must(t, append([]string{"vm", "create", "--name", name}, e2eSize...)...)
		t.Logf("vm create %s: %s", name, time.Since(start).Round(time.Millisecond))
		if !strings.Contains(r.stderr, "restoring from the warm template") || strings.Contains(r.stderr, "warm start failed") {
			t.Errorf("vm create %s did not restore from the template:\n%s", name, r.stderr)
		}
	}
	a, b := look("w1"), look("w2")
	t.Logf("w1 %+v\nw2 %+v", a, b)
	v1, v2 := n.show(t, "w1"), n.show(t, "w2")
	for _, c := range []struct{ what, x, y, want1, want2 string }{
		{"hostname", a.hostname, b.hostname, "w1", "w2"},
		{"address", a.ip, b.ip, v1.IP + "/24", v2.IP + "/24"},
		{"MAC", a.mac, b.mac, strings.ToLower(v1.MAC), strings.ToLower(v2.MAC)},
		{"machine id", a.machineID, b.machineID, "", ""},
		{"boot id", a.bootID, b.bootID, "", ""},
		{"ssh host key", a.hostKey, b.hostKey, "", ""},
	} {
		if c.x == c.y {
			t.Errorf("the two clones share their %s %q", c.what, c.x)
		}
		if c.want1 != "" && (c.x != c.want1 || c.y != c.want2) {
			t.Errorf("%s: %q and %q, want %q and %q", c.what, c.x, c.y, c.want1, c.want2)
		}
	}
	// Each reaches the other; each has its own disks; the clock is now.
	n.ssh(t, "w1", "ping -c 1 -W 5 "+v2.IP)
	n.ssh(t, "w2", "ping -c 1 -W 5 "+v1.IP)
	// A clone's agent gives eth0 its DNS servers (networkd leaves the
	// link to it): names resolve through them at once. IPv6 stays off, as
	// on a cold boot.
	if out := n.ssh(t, "w1", "getent hosts w2.vm"); !strings.HasPrefix(out, v2.IP+" ") {
		t.Errorf("getent hosts w2.vm in w1: %q, want %s", out, v2.IP)
	}
	if out := n.ssh(t, "w2", "ip -6 -o addr show dev eth0"); strings.TrimSpace(out) != "" {
		t.Errorf("a clone has IPv6 addresses on eth0: %q", out)
	}
	n.ssh(t, "w1", "echo one > /root/mine && echo one > /etc/mine && sync")
	if out := n.ssh(t, "w2", "ls /root/mine /etc/mine 2>&1 || true"); !strings.Contains(out, "No such file") || strings.Contains(out, "\n/") {
		t.Errorf("a file written in w1 shows in w2: %q", out)
	}
	checkTemplateMemory(t, h, n)
	guest, err := strconv.ParseFloat(strings.TrimSpace(n.ssh(t, "w2", "date +%s.%N")), 64)
	if err != nil {
		t.Fatal(err)
	}
	if skew := float64(time.Now().UnixNano())/1e9 - guest; skew > 2 || skew < -2 {
		t.Errorf("restored guest's clock is %.1f s off the host's", skew)
	}
	n.must(t, "vm", "delete", "--force", "w1", "w2")

	// A damaged template: the VM boots cold, with a one-line warning.
	states, _ := filepath.Glob(filepath.Join(h.state, "templates", "*", "state"))
	if len(states) == 0 {
		t.Fatal("no template was saved")
	}
	for _, s := range states {
		if err := os.WriteFile(s, []byte("damaged"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := n.must(t, append([]string{"vm", "create", "--name", "w3"}, e2eSize...)...)
	if !strings.Contains(r.stderr, "warm start failed, booting cold") {
		t.Errorf("a damaged template was not reported:\n%s", r.stderr)
	}
	if out := strings.TrimSpace(n.ssh(t, "w3", "hostname")); out != "w3" {
		t.Errorf("cold-booted fallback VM: hostname %q", out)
	}
	n.must(t, "vm", "delete", "--force", "w3")
	// Other tests' sizes may have templates too; this size's is gone.
	if left, _ := filepath.Glob(filepath.Join(h.state, "templates", "*", "state")); len(left) != len(states)-1 {
		t.Errorf("the damaged template was kept: %d of %d templates left: %q", len(left), len(states), left)
	}
}

// checkTemplateMemory checks that the clones w1 and w2 map their
// template's RAM file privately: memory w1 writes (a tmpfs file, which
// lives in guest RAM) never reaches the file, the one thing the clones
// share, so w2 cannot see it either.
func checkTemplateMemory(t *testing.T, h *harness, n *vmNet) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(h.state, "templates", "*", "memory"))
	if len(files) == 0 {
		t.Fatal("the template keeps no memory file: its clones cannot share its pages")
	}
	before := make(map[string][32]byte)
	for _, f := range files {
		before[f] = fileSHA(t, f)
	}
	marker := fmt.Sprintf("banger-clone-memory-%d", time.Now().UnixNano())
	n.ssh(t, "w1", "for i in $(seq 2000); do echo "+marker+"; done > /dev/shm/mark; head -c 32M /dev/urandom > /dev/shm/noise; sync")
	if out := n.ssh(t, "w2", "cat /dev/shm/mark 2>&1 || true"); strings.Contains(out, marker) {
		t.Errorf("memory written in w1 shows in w2")
	}
	for _, f := range files {
		if fileSHA(t, f) != before[f] {
			t.Errorf("the template memory file %s changed while its clones ran: a clone's writes reached it", f)
		}
	}
}

func fileSHA(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}
