package vm

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"banger/internal/network"
	"banger/internal/network/nettest"
	"banger/internal/paths"
	"banger/internal/store"
	"banger/internal/vmm"
)

// mtLeftover records VM name in state, as a daemon that stopped in the
// middle of making or starting it leaves it: an address, a tap on the
// bridge and a VM dir. With running, its VMM runs too, its guest named
// guestName.
func (h *mtHarness) mtLeftover(name, state string, running bool, guestName string) store.VM {
	h.t.Helper()
	v := store.VM{
		Name: name, State: state, Image: "deb", Kernel: "k", VMM: "qemu", VCPU: 1, MemoryMiB: 256,
		DiskBytes: 64 << 20, VID: name + "01", IP: "10.237.91.200", MAC: "06:00:0a:ed:5b:c8",
		Tap: "bg-" + name, Network: "internet",
	}
	if err := h.store.CreateVM(h.ctx, v); err != nil {
		h.t.Fatal(err)
	}
	nc := network.Config{Bridge: mtBridge, Subnet: netip.MustParsePrefix(mtSubnet)}
	if err := h.net.EnsureBridge(h.ctx, nc); err != nil {
		h.t.Fatal(err)
	}
	if err := h.net.EnsureUnpluggedTap(h.ctx, nc, v.Tap, os.Getuid()); err != nil {
		h.t.Fatal(err)
	}
	if err := os.MkdirAll(h.dirs.VMDir(name), 0o700); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.dirs.VMDir(name), "upper.ext4"), []byte("half made"), 0o600); err != nil {
		h.t.Fatal(err)
	}
	if running {
		h.mtRunning(h.runDir(v), guestName)
	}
	return v
}

// mtRunning starts a VMM in runDir as an earlier daemon would have, its
// guest named guestName.
func (h *mtHarness) mtRunning(runDir, guestName string) {
	h.t.Helper()
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		h.t.Fatal(err)
	}
	spec := vmm.Spec{Name: guestName, RunDir: runDir, AgentSocket: filepath.Join(runDir, paths.AgentSocketName)}
	if _, err := h.vmm.AlreadyRunning(spec); err != nil {
		h.t.Fatal(err)
	}
}

// A VM whose VMM outlived the daemon is adopted: still running, its
// policy installed again, its agent reachable, and watched, so that its
// exit is noticed.
func TestManagerAdoptRunningVM(t *testing.T) {
	h := mtManager(t)
	v := h.mustCreate("web", true)
	h.restart(func() { h.net.ResetCalls() })
	h.assertRunning("web")
	if !slices.ContainsFunc(h.net.Calls(), func(c nettest.Call) bool { return c.Method == "SetPolicy" && c.Tap == v.Tap }) {
		t.Errorf("network calls %q: want the adopted VM's policy installed again", h.net.Methods())
	}
	if g, err := h.m.Guest(h.ctx, "web"); err != nil || g.Status.Hostname != "web" {
		t.Errorf("Guest of the adopted VM = %+v, %v", g.Status, err)
	}
	if h.calls("Start", "web") != 1 || h.calls("Kill", "web") != 0 {
		t.Errorf("VMM calls %q: adoption must neither boot nor kill", h.vmm.Methods())
	}
	h.vmm.Exit(h.runDir(v))
	got := h.waitState("web", StateStopped)
	if got.Tap != "" || got.IP != "" {
		t.Errorf("adopted VM that exited: %+v, want its tap and address freed", got)
	}
	h.waitFor("its tap to go", func() bool { return len(h.net.Taps()) == 0 })
	if len(h.net.Bridges()) != 0 {
		t.Errorf("bridge left with no VM: %+v", h.net.Bridges())
	}
}

// A VM whose VMM died while no daemon ran is found stopped: its tap and
// address are freed, and it starts again.
func TestManagerAdoptVMWhoseVMMIsGone(t *testing.T) {
	h := mtManager(t)
	a := h.mustCreate("a", true)
	h.mustCreate("b", true)
	h.restart(func() { h.vmm.Exit(h.runDir(a)) })
	got := h.get("a")
	if got.State != StateStopped || got.Tap != "" || got.IP != "" {
		t.Errorf("VM whose VMM died: %+v, want stopped without tap or address", got)
	}
	if _, ok := h.net.Tap(a.Tap); ok {
		t.Error("the dead VM's tap is left")
	}
	h.assertRunning("b")
	if _, err := h.m.Start(h.ctx, "a", nil); err != nil {
		t.Fatalf("Start after adoption: %v", err)
	}
	h.assertRunning("a")
}

// With every VMM gone, the bridge goes too.
func TestManagerAdoptTearsDownAnUnusedBridge(t *testing.T) {
	h := mtManager(t)
	v := h.mustCreate("web", true)
	h.restart(func() { h.vmm.Exit(h.runDir(v)) })
	if got := h.get("web"); got.State != StateStopped {
		t.Errorf("web is %s, want stopped", got.State)
	}
	h.assertNoLeaks()
	if len(h.net.Teardowns()) != 1 {
		t.Errorf("teardowns = %d, want the bridge removed once", len(h.net.Teardowns()))
	}
}

// A VM a snapshot left paused when the daemon stopped is resumed.
func TestManagerAdoptResumesAPausedVM(t *testing.T) {
	h := mtManager(t)
	v := h.mustCreate("web", true)
	h.restart(func() { h.vmm.SetState(h.runDir(v), vmm.StatePaused) })
	if h.calls("Resume", "web") != 1 {
		t.Errorf("VMM calls %q: want the paused VM resumed", h.vmm.Methods())
	}
	if st := h.vmm.StateOf(h.runDir(v)); st != vmm.StateRunning {
		t.Errorf("VMM is %s after adoption, want running", st)
	}
	h.assertRunning("web")
}

// A VM left being created whose VMM is gone is removed, as a failed
// create is: record, disks, tap.
func TestManagerAdoptRemovesAnUnfinishedCreate(t *testing.T) {
	h := mtManager(t)
	h.mtLeftover("half", StateCreating, false, "")
	h.restart(nil)
	h.assertGone("half")
	if len(h.net.Taps()) != 0 || len(h.net.Bridges()) != 0 {
		t.Errorf("left: taps %+v, bridges %+v", h.net.Taps(), h.net.Bridges())
	}
}

// A VM left being started whose VMM is gone is kept, stopped, and says
// to start it again.
func TestManagerAdoptStopsAnUnfinishedStart(t *testing.T) {
	h := mtManager(t)
	h.mtLeftover("half", StateStarting, false, "")
	h.restart(nil)
	v := h.get("half")
	if v.State != StateStopped || v.Tap != "" || !strings.Contains(v.LastError, "start it again") {
		t.Errorf("unfinished start: %+v, want stopped, no tap, and what to do", v)
	}
	if _, err := os.Stat(h.dirs.VMDir("half")); err != nil {
		t.Errorf("the disks of a VM being started went: %v", err)
	}
	if len(h.net.Taps()) != 0 {
		t.Errorf("taps left: %+v", h.net.Taps())
	}
}

// A VM left being created whose guest runs under the VM's own name was
// all but made: it is adopted as running, its tap put on the bridge.
func TestManagerAdoptFinishesACreateWhoseGuestIsUp(t *testing.T) {
	h := mtManager(t)
	v := h.mtLeftover("almost", StateCreating, true, "almost")
	h.restart(nil)
	got := h.waitState("almost", StateRunning)
	if got.LastError != "" {
		t.Errorf("adopted VM has last error %q", got.LastError)
	}
	if tap, ok := h.net.Tap(v.Tap); !ok || !tap.Plugged {
		t.Errorf("adopted VM's tap = %+v (%v), want it on the bridge", tap, ok)
	}
	if p, ok := h.net.Policy(v.Tap); !ok || p.Guest.IP.String() != v.IP {
		t.Errorf("adopted VM's policy = %+v (%v)", p, ok)
	}
	if h.calls("Kill", "") != 0 {
		t.Errorf("VMM calls %q: nothing should be killed", h.vmm.Methods())
	}
	h.vmm.Exit(h.runDir(v))
	h.waitState("almost", StateStopped)
}

// A VM left being created whose guest still has another's name (a
// restore cut short before its identity) is killed and removed.
func TestManagerAdoptRemovesACreateWithoutItsIdentity(t *testing.T) {
	h := mtManager(t)
	v := h.mtLeftover("clone", StateCreating, true, "banger-template")
	h.restart(nil)
	h.waitFor("the clone to be removed", func() bool {
		_, err := h.m.Get(h.ctx, "clone")
		return err != nil
	})
	h.assertGone("clone")
	if st := h.vmm.StateOf(h.runDir(v)); st != vmm.StateStopped {
		t.Errorf("the clone's VMM is %s, want killed", st)
	}
}

// Recover undoes what a daemon stopped in the middle of: a template
// being built (its guest killed, its run dir gone), a template never
// completed and a snapshot being written. Complete ones stay.
func TestManagerRecoverRemovesPartialTemplatesAndSnapshots(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("web", false)
	h.mtSnapshot("web", "s1")
	half := filepath.Join(h.dirs.TemplatesDir(), "0123456789abcdef")
	partial := filepath.Join(h.dirs.SnapshotsDir(), ".s2.partial")
	build := filepath.Join(h.dirs.TemplateRunBase(), "0123456789abcdef")
	h.restart(func() {
		for _, dir := range []string{half, partial} {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, paths.StateName), []byte("half"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		h.mtRunning(build, "template-01234567")
		rec := `{"vmm":"qemu","dir":"` + half + `"}`
		if err := os.WriteFile(filepath.Join(build, paths.TemplateBuildName), []byte(rec), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	for _, p := range []string{half, partial, build} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left (%v)", p, err)
		}
	}
	if st := h.vmm.StateOf(build); st != vmm.StateStopped {
		t.Errorf("the template build's guest is %s, want killed", st)
	}
	if n := len(h.m.Templates("deb")); n != 1 {
		t.Errorf("%d complete templates after recovery, want 1", n)
	}
	if sn := h.m.Snapshots(); len(sn) != 1 || sn[0].Name != "s1" {
		t.Errorf("snapshots after recovery = %+v, want s1", sn)
	}
	h.assertRunning("web")
	// The template kept is used.
	h.mustCreate("next", false)
	if h.calls("SaveState", "") != 2 || h.calls("Restore", "next") != 1 {
		t.Errorf("VMM calls %q: want next restored from the kept template", h.vmm.Methods())
	}
}
