package vm

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"banger/internal/errdefs"
	"banger/internal/vmm"
	"banger/internal/vmm/vmmtest"
)

// A create that fails at any step before the guest runs undoes every
// step before it: no record, no disks, no run dir, no tap, no bridge, no
// VMM. The error carries the cause, with its kind.
func TestManagerCreateFailureUndoesEverything(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inject func(h *mtHarness, cause error)
		step   string // what the error must say, beside the cause
	}{
		{"bridge", func(h *mtHarness, cause error) { h.net.FailOnce("EnsureBridge", cause) }, "attaching to the bridge"},
		{"tap", func(h *mtHarness, cause error) { h.net.FailOnce("EnsureTap", cause) }, "attaching to the bridge"},
		{"policy", func(h *mtHarness, cause error) { h.net.FailOnce("SetPolicy", cause) }, "applying network policy internet"},
		{"vmm", func(h *mtHarness, cause error) { h.vmm.FailOnce("Start", cause) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mtManager(t)
			cause := errdefs.Unavailable("the %s step broke", tc.name)
			tc.inject(h, cause)
			v, err := h.create("web", true)
			if !errors.Is(err, cause) || errdefs.KindOf(err) != errdefs.KindUnavailable {
				t.Fatalf("Create = %+v, %v; want the cause, unavailable", v, err)
			}
			if !strings.Contains(err.Error(), tc.step) {
				t.Errorf("error %q does not name the step %q", err, tc.step)
			}
			h.assertGone("web")
			if len(h.net.Taps()) != 0 {
				t.Errorf("taps left: %+v", h.net.Taps())
			}
			// Nothing is wedged: the same name can be created at once.
			h.mustCreate("web", true)
		})
	}
}

// A create whose image file is gone fails while preparing disks, saying
// how to get it back, and leaves nothing.
func TestManagerCreateWithoutTheImageFile(t *testing.T) {
	h := mtManager(t)
	if err := os.Remove(h.image.RootfsPath); err != nil {
		t.Fatal(err)
	}
	_, err := h.create("web", true)
	if errdefs.KindOf(err) != errdefs.KindNotFound || !strings.Contains(err.Error(), "preparing disks") || !strings.Contains(err.Error(), "pull or build the image again") {
		t.Fatalf("Create = %v, want not found while preparing disks, with the fix", err)
	}
	if h.calls("Start", "") != 0 || h.calls("Restore", "") != 0 {
		t.Errorf("VMM calls %q: a VM whose disks could not be made was booted", h.vmm.Methods())
	}
	h.assertGone("web")
}

// A create the library cannot resolve records nothing.
func TestManagerCreateLibraryFailure(t *testing.T) {
	h := mtManager(t)
	h.lib.fail = errdefs.Unavailable("the image server is down")
	_, err := h.create("web", true)
	if errdefs.KindOf(err) != errdefs.KindUnavailable || !strings.Contains(err.Error(), "image server is down") {
		t.Fatalf("Create = %v, want the library's error", err)
	}
	h.assertGone("web")
}

// A guest whose VMM dies as it boots is not called running: the error
// says it exited and quotes its console, and nothing of its network is
// left.
func TestManagerCreateGuestCrash(t *testing.T) {
	h := mtManager(t)
	h.vmm.SetGuest(vmmtest.GuestCrash)
	_, err := h.create("web", true)
	if err == nil {
		t.Fatal("Create of a guest that crashed succeeded")
	}
	if !strings.Contains(err.Error(), "exited while booting") || !strings.Contains(err.Error(), "the VMM crashed") {
		t.Errorf("error %q: want it to say the VM exited and quote its console", err)
	}
	h.waitFor("the crashed VM's tap to be released", func() bool { return len(h.net.Taps()) == 0 })
	// It is kept, stopped, so that its console log can be read.
	v := h.waitState("web", StateStopped)
	if !strings.Contains(v.LastError, "exited while booting") || v.Tap != "" || v.IP != "" {
		t.Errorf("crashed VM kept as %+v, want the cause recorded and no tap or address", v)
	}
	h.waitFor("the bridge to go", func() bool { return len(h.net.Bridges()) == 0 })
	h.assertNoLeaks()
	if err := h.m.Delete(h.ctx, "web", false); err != nil {
		t.Fatalf("Delete of the crashed VM: %v", err)
	}
	h.assertGone("web")
}

// The error of a guest that crashed as it booted must not call it
// running, and the VM must not be recorded running once Create returns.
func TestManagerCreateGuestCrashIsNotCalledRunning(t *testing.T) {
	h := mtManager(t)
	h.vmm.SetGuest(vmmtest.GuestCrash)
	_, err := h.create("web", true)
	if err == nil || strings.Contains(err.Error(), "is running") {
		t.Errorf("Create = %v, want an error that does not call the crashed VM running", err)
	}
	if v, err := h.m.Get(h.ctx, "web"); err == nil && v.State == StateRunning {
		t.Errorf("crashed VM recorded as %s once Create returned", v.State)
	}
}

// A guest that boots but never gets ready is kept running, so its
// console can be read: the error says so and says how to look.
func TestManagerCreateGuestNeverReady(t *testing.T) {
	h := mtManager(t)
	t.Setenv("BANGER_READY_TIMEOUT", "300ms")
	h.vmm.SetGuest(vmmtest.GuestNotReady)
	v, err := h.create("web", true)
	if errdefs.KindOf(err) != errdefs.KindUnavailable {
		t.Fatalf("Create = %v, want unavailable", err)
	}
	for _, want := range []string{"did not get ready", "banger vm logs web", "banger vm delete --force web"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if v.Name != "web" {
		t.Errorf("Create returned %+v, want the kept VM", v)
	}
	got := h.get("web")
	if got.State != StateRunning || got.LastError == "" || got.Tap == "" {
		t.Errorf("kept VM = %+v, want running with a last error and its tap", got)
	}
	if st := h.vmm.StateOf(h.runDir(got)); st != vmm.StateRunning {
		t.Errorf("kept VM's VMM is %s, want running", st)
	}
	cl, err := h.m.ConsoleLog(h.ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(cl.Path); err != nil || !strings.Contains(string(b), "booted") {
		t.Errorf("console log %s = %q, %v; want the boot's lines", cl.Path, b, err)
	}
	if _, err := h.m.SSHTarget(h.ctx, "web"); err == nil {
		t.Error("SSHTarget of a guest that never reported host keys succeeded")
	}
	if err := h.m.Delete(h.ctx, "web", true); err != nil {
		t.Fatal(err)
	}
	h.assertGone("web")
}

// A VMM that will not die keeps the VM's record, so that delete can be
// tried again, and says why.
func TestManagerDeleteWhenKillFails(t *testing.T) {
	h := mtManager(t)
	v := h.mustCreate("web", true)
	h.vmm.FailOnce("Kill", errors.New("operation not permitted"))
	err := h.m.Delete(h.ctx, "web", true)
	if err == nil || !strings.Contains(err.Error(), "operation not permitted") || !strings.Contains(err.Error(), "deleting VM web") {
		t.Fatalf("Delete = %v, want the kill's error, naming the VM", err)
	}
	if _, err := h.m.Get(h.ctx, "web"); err != nil {
		t.Errorf("the record of a VM whose VMM still runs is gone: %v", err)
	}
	if _, ok := h.net.Tap(v.Tap); !ok {
		t.Error("the tap of a VM whose VMM still runs was removed")
	}
	if err := h.m.Delete(h.ctx, "web", true); err != nil {
		t.Fatalf("Delete again: %v", err)
	}
	h.assertGone("web")
}

// A start that fails leaves the VM stopped, with the error recorded and
// its tap released; a start whose image is gone says so.
func TestManagerStartFailure(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("web", true)
	if _, err := h.m.Stop(h.ctx, "web"); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("could not open /dev/kvm")
	h.vmm.FailOnce("Start", boom)
	if _, err := h.m.Start(h.ctx, "web", nil); !errors.Is(err, boom) {
		t.Fatalf("Start = %v, want the VMM's error", err)
	}
	v := h.get("web")
	if v.State != StateStopped || !strings.Contains(v.LastError, "/dev/kvm") || v.Tap != "" || v.IP != "" {
		t.Errorf("after a failed start: %+v, want stopped, the error recorded, no tap", v)
	}
	if len(h.net.Taps()) != 0 || len(h.net.Bridges()) != 0 {
		t.Errorf("after a failed start: taps %+v, bridges %+v", h.net.Taps(), h.net.Bridges())
	}
	if _, err := h.m.Start(h.ctx, "web", nil); err != nil {
		t.Fatalf("Start after the failure: %v", err)
	}
	if v := h.assertRunning("web"); v.LastError != "" {
		t.Errorf("a good start kept the old error %q", v.LastError)
	}
	if _, err := h.m.Stop(h.ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if err := h.store.DeleteImage(h.ctx, "deb"); err != nil {
		t.Fatal(err)
	}
	_, err := h.m.Start(h.ctx, "web", nil)
	if errdefs.KindOf(err) != errdefs.KindFailedPrecondition || !strings.Contains(err.Error(), "image deb is gone") {
		t.Errorf("Start without the image = %v, want failed precondition naming it", err)
	}
}

// A guest that powers off, or whose VMM dies, is marked stopped and its
// network is released, without anyone asking.
func TestManagerVMMExitIsNoticed(t *testing.T) {
	h := mtManager(t)
	v := h.mustCreate("web", true)
	h.vmm.Exit(h.runDir(v))
	got := h.waitState("web", StateStopped)
	if got.Tap != "" || got.IP != "" {
		t.Errorf("VM that exited: %+v, want no tap or address", got)
	}
	h.waitFor("the tap to go", func() bool { return len(h.net.Taps()) == 0 })
	if _, err := h.m.Start(h.ctx, "web", nil); err != nil {
		t.Fatalf("Start after the exit: %v", err)
	}
	h.assertRunning("web")
}

// A create whose caller gives up while the guest boots is undone: the
// caller was told it failed, so nothing of it may stay.
func TestManagerCreateCancelledWhileBooting(t *testing.T) {
	h := mtManager(t)
	h.vmm.SetGuest(vmmtest.GuestNotReady)
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	go func() {
		for h.calls("Start", "web") == 0 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	_, err := h.m.Create(ctx, h.request("web", true), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Create = %v, want it cancelled", err)
	}
	h.assertGone("web")
}
