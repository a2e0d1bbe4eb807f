package vm

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"banger/internal/errdefs"
	"banger/internal/vmm"
)

// bootID is the boot id running VM name's agent reports: a resumed guest
// keeps it, a booted one gets a new one.
func (h *mtHarness) bootID(name string) string {
	h.t.Helper()
	mux, err := h.m.Agent(h.ctx, name)
	if err != nil {
		h.t.Fatalf("Agent(%s): %v", name, err)
	}
	return mux.Hello().BootID
}

// assertSuspended checks what a suspended VM has: its state, its address,
// no tap, no VMM, and its saved state in its VM dir.
func (h *mtHarness) assertSuspended(name, ip string) {
	h.t.Helper()
	v := h.get(name)
	if v.State != StateSuspended || v.IP != ip || v.Tap != "" {
		h.t.Fatalf("VM %s = state %s, address %q, tap %q; want suspended at %s with no tap", name, v.State, v.IP, v.Tap, ip)
	}
	if st := h.vmm.StateOf(h.runDir(v)); st != vmm.StateStopped {
		h.t.Fatalf("suspended VM %s's VMM is %s, want stopped", name, st)
	}
	for _, f := range []string{h.dirs.SuspendState(name), h.dirs.SuspendMeta(name)} {
		if _, err := os.Stat(f); err != nil {
			h.t.Fatalf("saved state file: %v", err)
		}
	}
}

func (h *mtHarness) assertNoSuspendState(name string) {
	h.t.Helper()
	for _, f := range []string{h.dirs.SuspendState(name), h.dirs.SuspendMeta(name)} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			h.t.Errorf("saved state file %s is left (%v)", f, err)
		}
	}
}

// A suspended VM keeps its name and address, frees its tap and VMM, and
// resumes from its saved state (the same guest, no new identity, its
// clock set) when started.
func TestManagerSuspendThenStartResumes(t *testing.T) {
	h := mtManager(t)
	web := h.mustCreate("web", true)
	boot := h.bootID("web")
	v, err := h.m.Suspend(h.ctx, "web", nil)
	if err != nil || v.State != StateSuspended {
		t.Fatalf("Suspend = %+v, %v; want it suspended", v, err)
	}
	h.assertSuspended("web", web.IP)
	if _, ok := h.net.Tap(web.Tap); ok {
		t.Errorf("suspended VM's tap %s is left", web.Tap)
	}
	if _, err := h.m.Agent(h.ctx, "web"); errdefs.KindOf(err) != errdefs.KindFailedPrecondition || !strings.Contains(err.Error(), "is suspended") {
		t.Errorf("Agent of a suspended VM = %v; want it refused as suspended", err)
	}
	h.vmm.ResetCalls()
	before := time.Now()
	if _, err := h.m.Start(h.ctx, "web", nil); err != nil {
		t.Fatalf("Start of a suspended VM: %v", err)
	}
	got := h.assertRunning("web")
	if h.calls("Restore", "web") != 1 || h.calls("Start", "web") != 0 {
		t.Errorf("VMM calls %q: want web restored, not booted", h.vmm.Methods())
	}
	if got.IP != web.IP || got.MAC != web.MAC || got.VID != web.VID {
		t.Errorf("resumed VM = %+v; want the address, MAC and id of %+v", got, web)
	}
	if id := h.bootID("web"); id != boot {
		t.Errorf("resumed guest has boot id %s, want %s: it was booted, not resumed", id, boot)
	}
	if ids := h.vmm.Identities(h.runDir(got)); len(ids) != 0 {
		t.Errorf("resumed guest was given identities %+v; want none", ids)
	}
	if c := h.vmm.Clocks(h.runDir(got)); len(c) != 1 || c[0].Before(before) {
		t.Errorf("resumed guest's clock set to %v; want once, to now", c)
	}
	h.assertNoSuspendState("web")
}

// Suspending a VM that is not running says so; a failed save leaves it
// running, with nothing saved.
func TestManagerSuspendRefusalsAndFailure(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("web", true)
	if _, err := h.m.Suspend(h.ctx, "nope", nil); errdefs.KindOf(err) != errdefs.KindNotFound {
		t.Errorf("Suspend of a missing VM = %v; want not found", err)
	}
	h.vmm.FailOnce("SaveState", errors.New("disk full"))
	if _, err := h.m.Suspend(h.ctx, "web", nil); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Suspend with a failing save = %v; want the failure", err)
	}
	h.assertRunning("web")
	h.assertNoSuspendState("web")
	h.vmm.FailOnce("Kill", errors.New("no such process"))
	if _, err := h.m.Suspend(h.ctx, "web", nil); err == nil || !strings.Contains(err.Error(), "stopping the VMM") {
		t.Fatalf("Suspend with a failing kill = %v; want the step named", err)
	}
	h.assertRunning("web")
	h.assertNoSuspendState("web")
	if _, err := h.m.Suspend(h.ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Suspend(h.ctx, "web", nil); errdefs.KindOf(err) != errdefs.KindFailedPrecondition {
		t.Errorf("Suspend of a suspended VM = %v; want failed precondition", err)
	}
}

// Stop discards a suspended VM's saved state: the VM is stopped, and the
// next start boots it; delete removes what was saved with the rest.
func TestManagerStopAndDeleteOfASuspendedVM(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("web", true)
	h.mustCreate("db", true)
	for _, n := range []string{"web", "db"} {
		if _, err := h.m.Suspend(h.ctx, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	v, err := h.m.Stop(h.ctx, "web")
	if err != nil || v.State != StateStopped || v.IP != "" {
		t.Fatalf("Stop of a suspended VM = %+v, %v; want it stopped, its address freed", v, err)
	}
	h.assertNoSuspendState("web")
	if _, err := os.Stat(workDisk(h.dirs.VMDir("web"))); err != nil {
		t.Errorf("work disk after discarding the saved state: %v", err)
	}
	h.vmm.ResetCalls()
	if _, err := h.m.Start(h.ctx, "web", nil); err != nil || h.calls("Start", "web") != 1 {
		t.Fatalf("Start after the discard = %v with calls %q; want a boot", err, h.vmm.Methods())
	}
	h.assertRunning("web")
	if err := h.m.Delete(h.ctx, "db", false); err != nil {
		t.Fatalf("Delete of a suspended VM: %v", err)
	}
	h.assertGone("db")
}

// A suspended VM whose saved state is gone stays suspended, its disks
// whole, and says how to boot it instead.
func TestManagerResumeWithoutSavedState(t *testing.T) {
	h := mtManager(t)
	web := h.mustCreate("web", true)
	if _, err := h.m.Suspend(h.ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	os.Remove(h.dirs.SuspendState("web"))
	_, err := h.m.Start(h.ctx, "web", nil)
	if errdefs.KindOf(err) != errdefs.KindFailedPrecondition || !strings.Contains(err.Error(), "--cold") {
		t.Fatalf("Start without a saved state = %v; want failed precondition offering --cold", err)
	}
	if v := h.get("web"); v.State != StateSuspended || v.IP != web.IP {
		t.Errorf("VM after a failed resume = %+v; want it suspended at %s", v, web.IP)
	}
	if _, err := os.Stat(workDisk(h.dirs.VMDir("web"))); err != nil {
		t.Errorf("work disk: %v", err)
	}
	// What `vm start --cold` does: discard the state, then boot.
	if _, err := h.m.Stop(h.ctx, "web"); err != nil {
		t.Fatal(err)
	}
	h.vmm.ResetCalls()
	if _, err := h.m.Start(h.ctx, "web", nil); err != nil || h.calls("Start", "web") != 1 {
		t.Fatalf("Start after the discard = %v with calls %q; want a boot", err, h.vmm.Methods())
	}
	h.assertRunning("web")
	h.assertNoSuspendState("web")
}

// A restore that fails leaves the VM suspended, its state whole and
// nothing of the attempt on the host; the next start resumes it.
func TestManagerFailedResumeStaysSuspended(t *testing.T) {
	h := mtManager(t)
	web := h.mustCreate("web", true)
	if _, err := h.m.Suspend(h.ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	h.vmm.FailOnce("Restore", errors.New("bad state"))
	_, err := h.m.Start(h.ctx, "web", nil)
	if err == nil || !strings.Contains(err.Error(), "stays suspended") || !strings.Contains(err.Error(), "bad state") {
		t.Fatalf("Start with a failing restore = %v; want the failure, saying the VM stays suspended", err)
	}
	h.assertSuspended("web", web.IP)
	if taps := h.net.Taps(); len(taps) != 0 {
		t.Errorf("taps left after a failed resume: %+v", taps)
	}
	if _, err := h.m.Start(h.ctx, "web", nil); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	if v := h.assertRunning("web"); v.IP != web.IP {
		t.Errorf("resumed at %s, want %s", v.IP, web.IP)
	}
}

// A daemon that restarts finds a suspended VM suspended, and resumes it.
func TestManagerSuspendedVMOutlivesTheDaemon(t *testing.T) {
	h := mtManager(t)
	web := h.mustCreate("web", true)
	if _, err := h.m.Suspend(h.ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	h.restart(nil)
	h.assertSuspended("web", web.IP)
	if _, err := h.m.Start(h.ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	h.assertRunning("web")
}

// A daemon killed after a suspend stopped the VMM but before it recorded
// the VM suspended finds the VM suspended at its next start.
func TestManagerAdoptFinishesACutShortSuspend(t *testing.T) {
	h := mtManager(t)
	web := h.mustCreate("web", true)
	if _, err := h.m.Suspend(h.ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	v := h.get("web")
	v.State = StateRunning // as recorded before the last step
	if err := h.store.UpdateVM(h.ctx, v); err != nil {
		t.Fatal(err)
	}
	h.restart(nil)
	h.assertSuspended("web", web.IP)
}

// Once the guest runs again its saved state is gone: a failure after
// that (here, setting its clock) leaves it running, with the reason,
// rather than killing what cannot be saved again.
func TestManagerFailureAfterResumeKeepsItRunning(t *testing.T) {
	h := mtManager(t)
	web := h.mustCreate("web", true)
	if _, err := h.m.Suspend(h.ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	h.vmm.FailOnce("SetClock", errors.New("EPERM"))
	_, err := h.m.Start(h.ctx, "web", nil)
	if errdefs.KindOf(err) != errdefs.KindUnavailable || !strings.Contains(err.Error(), "resumed and runs") || !strings.Contains(err.Error(), "EPERM") {
		t.Fatalf("Start with a failing clock = %v; want unavailable, saying it runs, with the cause", err)
	}
	v := h.get("web")
	if v.State != StateRunning || !strings.Contains(v.LastError, "EPERM") || v.IP != web.IP {
		t.Errorf("VM = %+v; want running at %s with the reason", v, web.IP)
	}
	if st := h.vmm.StateOf(h.runDir(v)); st != vmm.StateRunning {
		t.Errorf("VMM is %s, want running", st)
	}
	h.assertNoSuspendState("web")
}
