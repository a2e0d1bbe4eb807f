package vm

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/paths"
	"banger/internal/store"
	"banger/internal/vmm"
	"banger/internal/vmm/vmmtest"
)

// mtSnapshot snapshots running VM name as snap, failing the test on error.
func (h *mtHarness) mtSnapshot(name, snap string) SnapshotInfo {
	h.t.Helper()
	sn, err := h.m.Snapshot(h.ctx, name, snap, nil)
	if err != nil {
		h.t.Fatalf("Snapshot(%s, %s): %v", name, snap, err)
	}
	return sn
}

// fromSnapshot creates VM name from snapshot snap.
func (h *mtHarness) fromSnapshot(name, snap string) (store.VM, error) {
	return h.m.Create(h.ctx, api.CreateVMRequest{Name: name, FromSnapshot: snap}, nil)
}

// A snapshot pauses the VM while its state is saved and its disks
// copied, then lets it run on; it is listed and can be read back.
func TestManagerSnapshotOfARunningVM(t *testing.T) {
	h := mtManager(t)
	v := h.mustCreate("web", true)
	sn := h.mtSnapshot("web", "s1")
	if sn.Name != "s1" || sn.VM != "web" || sn.Image != "deb" || sn.Kernel != "k" || sn.VCPU != 1 || sn.MemoryMiB != 256 || sn.DiskBytes != 64<<20 {
		t.Errorf("Snapshot = %+v, want s1 of web, with its image, kernel and sizes", sn)
	}
	var saved vmmtest.Call
	for _, c := range h.vmm.Calls() {
		if c.Method == "SaveState" {
			saved = c
		}
	}
	if saved.Spec.Name != "web" || h.calls("Resume", "web") != 1 {
		t.Errorf("VMM calls %q: want web's state saved, then web resumed", h.vmm.Methods())
	}
	if st := h.vmm.StateOf(h.runDir(v)); st != vmm.StateRunning {
		t.Errorf("VM after its snapshot is %s, want running", st)
	}
	h.assertRunning("web")
	dir := h.dirs.SnapshotDir("s1")
	for _, f := range append([]string{paths.StateName, paths.SnapshotMetaName}, sn.Disks...) {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("snapshot file %s: %v", f, err)
		}
	}
	if !slices.Contains(sn.Disks, "work.ext4") || slices.Contains(sn.Disks, filepath.Base(h.image.RootfsPath)) {
		t.Errorf("snapshot disks %q: want the work disk and not the read-only image", sn.Disks)
	}
	if entries, _ := os.ReadDir(h.dirs.SnapshotsDir()); len(entries) != 1 {
		t.Errorf("snapshots dir holds %v, want only s1 (no partial copy)", mtNames(entries))
	}
	list := h.m.Snapshots()
	if len(list) != 1 || list[0].Name != "s1" {
		t.Errorf("Snapshots = %+v, want s1", list)
	}
	got, err := h.m.GetSnapshot("s1")
	if err != nil || got.VM != "web" || got.Bytes <= 0 {
		t.Errorf("GetSnapshot(s1) = %+v, %v", got, err)
	}
	if _, err := h.m.GetSnapshot("s2"); errdefs.KindOf(err) != errdefs.KindNotFound || !strings.Contains(err.Error(), "banger snapshot list") {
		t.Errorf("GetSnapshot of a missing one = %v, want not found with where to look", err)
	}
	if _, err := h.m.Snapshot(h.ctx, "web", "s1", nil); errdefs.KindOf(err) != errdefs.KindAlreadyExists {
		t.Errorf("a second snapshot named s1 = %v, want already exists", err)
	}
	h.assertRunning("web")
}

// A VM made from a snapshot is restored, not booted, and takes an
// identity of its own; it has copies of the snapshot's disks.
func TestManagerCreateFromSnapshot(t *testing.T) {
	h := mtManager(t)
	web := h.mustCreate("web", true)
	h.mtSnapshot("web", "s1")
	clone, err := h.fromSnapshot("clone", "s1")
	if err != nil {
		t.Fatalf("Create from s1: %v", err)
	}
	h.assertRunning("clone")
	if h.calls("Restore", "clone") != 1 || h.calls("Start", "clone") != 0 {
		t.Errorf("VMM calls %q: want clone restored, not booted", h.vmm.Methods())
	}
	for _, c := range h.vmm.Calls() {
		if c.Method == "Restore" && c.Path != filepath.Join(h.dirs.SnapshotDir("s1"), paths.StateName) {
			t.Errorf("restored from %s, want s1's state", c.Path)
		}
	}
	if clone.IP == web.IP || clone.MAC == web.MAC || clone.Tap == web.Tap {
		t.Errorf("the clone shares the original's address, MAC or tap: %+v vs %+v", clone, web)
	}
	if clone.Image != "deb" || clone.VCPU != 1 || clone.MemoryMiB != 256 || clone.DiskBytes != 64<<20 {
		t.Errorf("clone = %+v, want the snapshot's image and sizes", clone)
	}
	id := h.mtIdentity("clone")
	if id.Hostname != "clone" || id.MAC != clone.MAC || !strings.HasPrefix(id.Address, clone.IP+"/") || id.WorkDevice != "" {
		t.Errorf("clone's identity = %+v, want its own name and address, and no work disk to mount", id)
	}
	if got := h.vmm.Hostname(h.runDir(clone)); got != "clone" {
		t.Errorf("clone's guest is named %q", got)
	}
	if tap, _ := h.net.Tap(clone.Tap); !tap.Plugged {
		t.Error("the clone's tap was left off the bridge")
	}
	if !slices.Contains(h.net.Methods(), "EnsureUnpluggedTap") {
		t.Errorf("network calls %q: the clone must start off the bridge, with the original's addresses", h.net.Methods())
	}
	work := filepath.Join(h.dirs.VMDir("clone"), "work.ext4")
	if fi, err := os.Stat(work); err != nil || fi.Size() != 64<<20 {
		t.Errorf("clone's work disk: %v", err)
	}
	h.assertRunning("web")
	if err := h.m.Delete(h.ctx, "clone", true); err != nil {
		t.Fatal(err)
	}
	h.assertGone("clone")
	h.assertRunning("web")
}

// DeleteSnapshot removes it and its files; VMs made from it live on.
func TestManagerDeleteSnapshot(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("web", true)
	h.mtSnapshot("web", "s1")
	if _, err := h.fromSnapshot("clone", "s1"); err != nil {
		t.Fatal(err)
	}
	if err := h.m.DeleteSnapshot("s1"); err != nil {
		t.Fatalf("DeleteSnapshot: %v", err)
	}
	if _, err := os.Stat(h.dirs.SnapshotDir("s1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("snapshot dir left: %v", err)
	}
	if _, err := h.m.GetSnapshot("s1"); errdefs.KindOf(err) != errdefs.KindNotFound {
		t.Errorf("GetSnapshot after delete = %v", err)
	}
	if len(h.m.Snapshots()) != 0 {
		t.Errorf("Snapshots after delete = %+v", h.m.Snapshots())
	}
	if err := h.m.DeleteSnapshot("s1"); errdefs.KindOf(err) != errdefs.KindNotFound {
		t.Errorf("deleting it again = %v, want not found", err)
	}
	h.assertRunning("clone")
	if _, err := h.fromSnapshot("late", "s1"); errdefs.KindOf(err) != errdefs.KindNotFound {
		t.Errorf("a VM from a deleted snapshot: %v, want not found", err)
	}
	h.assertGone("late")
}

// Only a running VM can be snapshotted; the refusal says how to start it.
func TestManagerSnapshotOfAStoppedVM(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("web", true)
	if _, err := h.m.Stop(h.ctx, "web"); err != nil {
		t.Fatal(err)
	}
	h.vmm.ResetCalls()
	_, err := h.m.Snapshot(h.ctx, "web", "s1", nil)
	if errdefs.KindOf(err) != errdefs.KindFailedPrecondition || !strings.Contains(err.Error(), "banger vm start web") {
		t.Fatalf("Snapshot of a stopped VM = %v, want failed precondition with how to start it", err)
	}
	if len(h.vmm.Methods()) != 0 {
		t.Errorf("VMM calls %q for a refused snapshot", h.vmm.Methods())
	}
	if entries, _ := os.ReadDir(h.dirs.SnapshotsDir()); len(entries) != 0 {
		t.Errorf("a refused snapshot left %v", mtNames(entries))
	}
	if _, err := h.m.Snapshot(h.ctx, "nope", "s2", nil); errdefs.KindOf(err) != errdefs.KindNotFound {
		t.Errorf("Snapshot of a missing VM = %v, want not found", err)
	}
}

// A snapshot whose save fails leaves no snapshot, and the VM runs on.
func TestManagerSnapshotSaveFailure(t *testing.T) {
	h := mtManager(t)
	v := h.mustCreate("web", true)
	boom := errors.New("no space left on device")
	h.vmm.FailOnce("SaveState", boom)
	if _, err := h.m.Snapshot(h.ctx, "web", "s1", nil); !errors.Is(err, boom) {
		t.Fatalf("Snapshot = %v, want the save's error", err)
	}
	if entries, _ := os.ReadDir(h.dirs.SnapshotsDir()); len(entries) != 0 {
		t.Errorf("a failed snapshot left %v", mtNames(entries))
	}
	if h.calls("Resume", "web") != 1 {
		t.Errorf("VMM calls %q: a failed snapshot must still resume the VM", h.vmm.Methods())
	}
	if st := h.vmm.StateOf(h.runDir(v)); st != vmm.StateRunning {
		t.Errorf("VM after a failed snapshot is %s", st)
	}
	h.assertRunning("web")
	h.mtSnapshot("web", "s1")
}

// A VM from a snapshot whose restore fails is not made, and nothing of
// it is left.
func TestManagerCreateFromSnapshotRestoreFailure(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("web", true)
	h.mtSnapshot("web", "s1")
	for _, method := range []string{"Restore", "Identify"} {
		cause := errors.New(method + " broke")
		h.vmm.FailOnce(method, cause)
		_, err := h.fromSnapshot("clone", "s1")
		if err == nil || !strings.Contains(err.Error(), "restoring snapshot s1") || !strings.Contains(err.Error(), method+" broke") {
			t.Errorf("%s failing: Create = %v, want the cause, naming the snapshot", method, err)
		}
		h.assertGone("clone")
		for _, c := range h.vmm.Calls() {
			if c.Spec.Name == "clone" && h.vmm.StateOf(c.Spec.RunDir) != vmm.StateStopped {
				t.Errorf("%s failing: the clone's VMM still runs", method)
			}
		}
	}
	if _, err := h.fromSnapshot("clone", "s1"); err != nil {
		t.Fatalf("a good restore after the failures: %v", err)
	}
	h.assertRunning("clone")
}

// UsersOf names the VMs and snapshots that rest on an image or kernel.
func TestManagerUsersOf(t *testing.T) {
	h := mtManager(t)
	h.addImage("alpine", "k")
	h.mustCreate("web", true)
	h.mtSnapshot("web", "s1")
	other := h.request("tiny", true)
	other.Image = "alpine"
	if _, err := h.m.Create(h.ctx, other, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		image, kernel string
		want          []string
	}{
		{"deb", "", []string{"vm web", "snapshot s1"}},
		{"alpine", "", []string{"vm tiny"}},
		{"", "k", []string{"vm tiny", "vm web", "snapshot s1"}},
		{"", "other", []string{}},
	} {
		got, err := h.m.UsersOf(h.ctx, tc.image, tc.kernel)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("UsersOf(%q, %q) = %q, %v; want %q", tc.image, tc.kernel, got, err, tc.want)
		}
	}
	if err := h.m.DeleteSnapshot("s1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.m.UsersOf(h.ctx, "deb", ""); !slices.Equal(got, []string{"vm web"}) {
		t.Errorf("UsersOf(deb) after deleting s1 = %q", got)
	}
}

// A snapshot whose VM cannot be resumed fails with the cause, and no
// snapshot is kept.
func TestManagerSnapshotResumeFailure(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("web", true)
	boom := errors.New("resume refused")
	h.vmm.FailOnce("Resume", boom)
	if _, err := h.m.Snapshot(h.ctx, "web", "s1", nil); !errors.Is(err, boom) {
		t.Fatalf("Snapshot = %v, want the resume's error", err)
	}
	if len(h.m.Snapshots()) != 0 {
		t.Errorf("Snapshots = %+v, want none", h.m.Snapshots())
	}
	if entries, _ := os.ReadDir(h.dirs.SnapshotsDir()); len(entries) != 0 {
		t.Errorf("a failed snapshot left %v", mtNames(entries))
	}
}

// A snapshot without a name is named after its VM and the time.
func TestManagerSnapshotNamesItself(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("web", true)
	sn := h.mtSnapshot("web", "")
	if !strings.HasPrefix(sn.Name, "web-") {
		t.Errorf("snapshot named %q, want web-TIME", sn.Name)
	}
	if _, err := h.m.GetSnapshot(sn.Name); err != nil {
		t.Errorf("GetSnapshot(%s): %v", sn.Name, err)
	}
	if _, err := h.m.Snapshot(h.ctx, "web", "../escape", nil); err == nil {
		t.Error("a snapshot named ../escape was made")
	}
}
