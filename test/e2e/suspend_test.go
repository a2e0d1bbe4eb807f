package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSuspend suspends a VM with a counter running in its guest, checks
// that nothing of it runs while it is suspended, starts it and checks
// that the counter went on from where it was (the same boot, not a cold
// one) and that the guest's clock is the host's. Deleting it removes its
// saved state.
func TestSuspend(t *testing.T) {
	h, n := goldenVMNet(t, "")
	n.must(t, append([]string{"vm", "create", "--name", "sus"}, e2eSize...)...)
	n.must(t, "session", "start", "sus", "--name", "counter", "--", "sh", "-c",
		"i=0; while :; do i=$((i+1)); echo $i > /dev/shm/count; sleep 1; done")
	count := func() int {
		t.Helper()
		c, err := strconv.Atoi(strings.TrimSpace(n.ssh(t, "sus", "cat /dev/shm/count")))
		if err != nil {
			t.Fatalf("reading the counter: %v", err)
		}
		return c
	}
	eventually(t, time.Minute, "the counter to count", func() error {
		if c := count(); c < 3 {
			return fmt.Errorf("at %d", c)
		}
		return nil
	})
	bootID := n.ssh(t, "sus", "cat /proc/sys/kernel/random/boot_id")
	before, was := count(), n.show(t, "sus")

	r := n.must(t, "vm", "suspend", "sus")
	if !strings.Contains(r.stdout, "sus suspended") {
		t.Errorf("vm suspend said: %s", r)
	}
	v := n.show(t, "sus")
	if v.State != "suspended" || v.IP != was.IP || v.MAC != was.MAC {
		t.Fatalf("after suspend: %+v; want suspended at %s", v, was.IP)
	}
	vmDir := filepath.Join(h.state, "vms", "sus")
	if q := qemusOf(vmDir); len(q) > 0 {
		t.Errorf("QEMU still runs for a suspended VM: %q", q)
	}
	for _, f := range []string{"suspend.state", "suspend.json"} {
		if _, err := os.Stat(filepath.Join(vmDir, f)); err != nil {
			t.Errorf("saved state: %v", err)
		}
	}
	if r := n.run("vm", "exec", "sus", "--", "true"); r.code == 0 || !strings.Contains(r.stderr, "is suspended") {
		t.Errorf("vm exec on a suspended VM: %s", r)
	}
	// Long enough suspended that a guest clock left as it was would show.
	suspended := time.Now()
	eventually(t, time.Minute, "20 s to pass", func() error {
		if d := time.Since(suspended); d < 20*time.Second {
			return fmt.Errorf("%s passed", d)
		}
		return nil
	})

	r = n.must(t, "vm", "start", "sus")
	if strings.Contains(r.stderr, "booting on") || !strings.Contains(r.stderr, "loading memory and device state") {
		t.Errorf("vm start of a suspended VM did not resume it:\n%s", r.stderr)
	}
	if v := n.show(t, "sus"); v.State != "running" || v.IP != was.IP {
		t.Errorf("after start: %+v; want running at %s", v, was.IP)
	}
	if got := n.ssh(t, "sus", "cat /proc/sys/kernel/random/boot_id"); got != bootID {
		t.Errorf("boot id %q after resume, %q before: the guest booted again", got, bootID)
	}
	if after := count(); after < before || after > before+15 {
		t.Errorf("counter at %d after resume, %d before suspend: want it to go on from there", after, before)
	}
	at := count()
	eventually(t, time.Minute, "the counter to go on", func() error {
		if c := count(); c <= at {
			return fmt.Errorf("still at %d", c)
		}
		return nil
	})
	checkGuestClock(t, n, "sus")

	// Suspended again, delete removes the saved state with the rest.
	n.must(t, "vm", "suspend", "sus")
	n.must(t, "vm", "delete", "sus")
	if _, err := os.Stat(vmDir); !os.IsNotExist(err) {
		t.Errorf("VM dir after delete: %v", err)
	}
}

// checkGuestClock checks that VM name's clock is within a few seconds of
// the host's.
func checkGuestClock(t *testing.T, n *vmNet, name string) {
	t.Helper()
	t0 := time.Now()
	out := n.ssh(t, name, "date +%s.%N")
	t1 := time.Now()
	secs, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
	if err != nil {
		t.Fatalf("guest date: %q: %v", out, err)
	}
	guest := time.Unix(0, int64(secs*1e9))
	const slack = 3 * time.Second
	if guest.Before(t0.Add(-slack)) || guest.After(t1.Add(slack)) {
		t.Errorf("guest clock %s, host %s..%s: want within %s", guest.Format(time.RFC3339Nano), t0.Format(time.RFC3339Nano), t1.Format(time.RFC3339Nano), slack)
	}
}
