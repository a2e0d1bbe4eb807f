package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"banger/internal/api"
)

// TestSnapshot saves a running VM with a file on disk, a file in memory
// only and a running session, makes a VM from the snapshot, and checks
// that the copy has all three under an identity of its own, while the
// original runs on untouched.
func TestSnapshot(t *testing.T) {
	_, n := goldenVMNet(t, "")

	n.must(t, append([]string{"vm", "create", "--name", "orig"}, e2eSize...)...)
	// The golden image's Docker starts on this first use and runs: its
	// kernel modules (nf_tables, bridge) load in the guest.
	eventually(t, 90*time.Second, "docker info in the guest", func() error {
		if r := n.run("vm", "exec", "orig", "--", "docker", "info", "--format", "{{.ServerVersion}}"); r.code != 0 {
			return fmt.Errorf("%s", r)
		}
		return nil
	})
	n.ssh(t, "orig", "echo on-disk > /root/kept && echo in-memory > /dev/shm/kept")
	n.must(t, "session", "start", "orig", "--name", "ticker", "--", "sh", "-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 1; done")

	r := n.must(t, "vm", "snapshot", "orig", "--name", "snap1")
	if strings.TrimSpace(r.stdout) != "snap1" {
		t.Errorf("vm snapshot printed %q, want the snapshot's name", r.stdout)
	}
	var list []api.Snapshot
	decodeJSON(t, n.must(t, "snapshot", "list", "--json").stdout, &list)
	if len(list) != 1 || list[0].Name != "snap1" || list[0].VM != "orig" || list[0].Bytes <= 0 {
		t.Fatalf("snapshot list: %+v", list)
	}
	if r := n.run("vm", "snapshot", "orig", "--name", "snap1"); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("a second snapshot of the same name: %s", r)
	}
	// The original was paused, not stopped: it runs on with its session.
	if got := n.ssh(t, "orig", "cat /root/kept /dev/shm/kept"); got != "on-disk\nin-memory\n" {
		t.Errorf("the original after its snapshot has %q", got)
	}

	r = n.must(t, "vm", "create", "--from-snapshot", "snap1", "--name", "copy")
	if !strings.Contains(r.stderr, "restoring snapshot snap1") {
		t.Errorf("vm create --from-snapshot said:\n%s", r.stderr)
	}
	if got := n.ssh(t, "copy", "cat /root/kept /dev/shm/kept; hostname"); got != "on-disk\nin-memory\ncopy\n" {
		t.Errorf("the copy has %q; want the files on disk and in memory, and its own hostname", got)
	}
	if s := sessionNamed(t, n, "copy", "ticker"); s.State != "running" {
		t.Errorf("the copy's ticker session is %+v; want it running on", s)
	}
	o, c := n.show(t, "orig"), n.show(t, "copy")
	if o.IP == c.IP || o.MAC == c.MAC {
		t.Errorf("original and copy share an address: %s/%s and %s/%s", o.IP, o.MAC, c.IP, c.MAC)
	}
	ids := "cat /etc/machine-id; cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub; ip -4 -o addr show eth0 | awk '{print $4}'"
	if a, b := n.ssh(t, "orig", ids), n.ssh(t, "copy", ids); a == b || !strings.Contains(b, c.IP+"/") {
		t.Errorf("machine id, host key and address: original %q, copy %q", a, b)
	}
	n.ssh(t, "copy", "echo mine > /root/copy-only && ping -c 1 -W 5 "+o.IP)
	if out := n.ssh(t, "orig", "ls /root/copy-only 2>&1 || true"); !strings.Contains(out, "No such file") {
		t.Errorf("a file written in the copy shows in the original: %q", out)
	}

	// The snapshot holds on to its image; it goes with snapshot delete.
	n.must(t, "vm", "delete", "--force", "orig", "copy")
	if r := n.run("image", "rm", "debian-bookworm"); r.code == 0 || !strings.Contains(r.stderr, "snapshot snap1") {
		t.Fatalf("removing the image under a snapshot: %s", r)
	}
	n.must(t, "snapshot", "delete", "snap1")
	if out := n.must(t, "snapshot", "list").stdout; !strings.Contains(out, "No snapshots") {
		t.Errorf("snapshot list after delete: %q", out)
	}
	if r := n.run("vm", "create", "--from-snapshot", "snap1"); r.code == 0 || !strings.Contains(r.stderr, "no snapshot named snap1") {
		t.Errorf("vm create from a deleted snapshot: %s", r)
	}
}
