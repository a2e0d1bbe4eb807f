package vm

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"banger/internal/errdefs"
	"banger/internal/network"
	"banger/internal/progress"
	"banger/internal/vmm"
)

// A cold create boots the image's kernel once and leaves a VM that runs,
// on the bridge with its policy, whose host keys are known, and that
// Get and List show.
func TestManagerColdCreateRuns(t *testing.T) {
	h := mtManager(t)
	v, err := h.create("web", true)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	got := h.assertRunning("web")
	if v.IP != got.IP || v.Tap != got.Tap || v.Image != "deb" || v.Kernel != "k" || v.VMM != "qemu" {
		t.Errorf("Create returned %+v, but the store has %+v", v, got)
	}
	if n := h.calls("Start", "web"); n != 1 || h.calls("Restore", "") != 0 {
		t.Errorf("VMM calls %q: want one Start and no Restore for a cold create", h.vmm.Methods())
	}
	if p, _ := h.net.Policy(v.Tap); p.Policy.Mode != network.PolicyInternet {
		t.Errorf("policy = %+v, want the config's default, internet", p.Policy)
	}
	kh, err := os.ReadFile(h.dirs.KnownHosts("web"))
	if err != nil || !strings.HasPrefix(string(kh), "web ssh-ed25519 ") {
		t.Errorf("known_hosts = %q, %v; want the guest's key under the VM's name", kh, err)
	}
	if len(h.m.Templates("")) != 0 {
		t.Errorf("a cold create made templates: %+v", h.m.Templates(""))
	}
	list, err := h.m.List(h.ctx)
	if err != nil || len(list) != 1 || list[0].Name != "web" {
		t.Errorf("List = %+v, %v; want only web", list, err)
	}
	if !h.m.TapsInUse(h.ctx) {
		t.Error("TapsInUse = false with a VM on the bridge")
	}
	target, err := h.m.SSHTarget(h.ctx, "web")
	if err != nil || target.Host != v.IP || target.KnownHosts != h.dirs.KnownHosts("web") || target.Key != h.cfg.SSHKeyPath {
		t.Errorf("SSHTarget = %+v, %v; want the VM's address, known_hosts and the configured key", target, err)
	}
	if _, err := os.Stat(h.cfg.SSHKeyPath + ".pub"); err != nil {
		t.Errorf("the ssh key was not made at ssh_key_path: %v", err)
	}
}

// The guest boots with the VM's own name and address: what the kernel
// is told, and what the agent reports.
func TestManagerColdCreateTellsTheGuestWhoItIs(t *testing.T) {
	h := mtManager(t)
	v := h.mustCreate("web", true)
	if got := h.vmm.Hostname(h.runDir(v)); got != "web" {
		t.Errorf("guest hostname = %q, want web", got)
	}
	var spec vmm.Spec
	for _, c := range h.vmm.Calls() {
		if c.Method == "Start" {
			spec = c.Spec
		}
	}
	if !strings.Contains(spec.Cmdline, v.IP) || !strings.Contains(spec.Cmdline, "systemd.hostname=web") {
		t.Errorf("kernel command line %q lacks the VM's address %s or name", spec.Cmdline, v.IP)
	}
	if len(spec.NICs) != 1 || spec.NICs[0].Tap != v.Tap || spec.NICs[0].MAC != v.MAC {
		t.Errorf("NICs = %+v, want the VM's tap %s and MAC %s", spec.NICs, v.Tap, v.MAC)
	}
	if spec.VCPU != 1 || spec.MemoryMiB != 256 {
		t.Errorf("spec asks %d vcpu, %d MiB; want the request's 1 and 256", spec.VCPU, spec.MemoryMiB)
	}
	var work bool
	for _, d := range spec.Disks {
		if d.ID == "work" {
			fi, err := os.Stat(d.Path)
			work = err == nil && fi.Size() == 64<<20
		}
		if d.ReadOnly && d.Path != h.image.RootfsPath {
			t.Errorf("read-only disk %s is not the image", d.Path)
		}
	}
	if !work {
		t.Errorf("disks %+v: want a work disk of the asked 64 MiB", spec.Disks)
	}
	g, err := h.m.Guest(h.ctx, "web")
	if err != nil || g.Status.Hostname != "web" || !g.Status.Ready {
		t.Errorf("Guest = %+v, %v; want the agent to report web, ready", g.Status, err)
	}
}

// Two VMs get different addresses, MACs and taps, and the bridge stays
// up until the last one is gone.
func TestManagerVMsShareTheBridge(t *testing.T) {
	h := mtManager(t)
	a := h.mustCreate("a", true)
	b := h.mustCreate("b", true)
	if a.IP == b.IP || a.MAC == b.MAC || a.Tap == b.Tap || a.VID == b.VID {
		t.Fatalf("two VMs share an address, MAC, tap or id: %+v and %+v", a, b)
	}
	if err := h.m.Delete(h.ctx, "a", true); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.net.Bridge(mtBridge); !ok {
		t.Fatal("deleting one of two VMs took the bridge down")
	}
	h.assertRunning("b")
	if err := h.m.Delete(h.ctx, "b", true); err != nil {
		t.Fatal(err)
	}
	h.assertGone("a")
	h.assertGone("b")
	if n := len(h.net.Teardowns()); n != 1 {
		t.Errorf("bridge torn down %d times, want once, with the last VM", n)
	}
}

// Stop powers the VM off and frees its tap and address; Start boots it
// again on the same disks; Restart does both.
func TestManagerStopStartRestart(t *testing.T) {
	h := mtManager(t)
	v := h.mustCreate("web", true)
	stopped, err := h.m.Stop(h.ctx, "web")
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if stopped.State != StateStopped || stopped.IP != "" || stopped.Tap != "" {
		t.Errorf("Stop returned %+v, want it stopped without address or tap", stopped)
	}
	if got := h.get("web"); got.State != StateStopped || got.Tap != "" {
		t.Errorf("store after Stop: %+v", got)
	}
	if st := h.vmm.StateOf(h.runDir(v)); st != vmm.StateStopped {
		t.Errorf("VMM after Stop is %s", st)
	}
	if len(h.net.Taps()) != 0 || len(h.net.Bridges()) != 0 {
		t.Errorf("after Stop: taps %+v, bridges %+v; want none", h.net.Taps(), h.net.Bridges())
	}
	if _, err := h.m.SSHTarget(h.ctx, "web"); errdefs.KindOf(err) != errdefs.KindFailedPrecondition || !strings.Contains(err.Error(), "banger vm start web") {
		t.Errorf("SSHTarget of a stopped VM = %v, want it refused with how to start it", err)
	}
	work := filepath.Join(h.dirs.VMDir("web"), "work.ext4")
	before, err := os.Stat(work)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Start(h.ctx, "web", nil); err != nil {
		t.Fatalf("Start: %v", err)
	}
	h.assertRunning("web")
	if after, err := os.Stat(work); err != nil || !os.SameFile(before, after) {
		t.Errorf("Start made a new work disk (%v): /root must survive a stop", err)
	}
	if n := h.calls("Start", "web"); n != 2 {
		t.Errorf("VMM started %d times, want 2", n)
	}
	if _, err := h.m.Restart(h.ctx, "web", nil); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	h.assertRunning("web")
	if n := h.calls("Start", "web"); n != 3 {
		t.Errorf("VMM started %d times after a restart, want 3", n)
	}
}

// Starting a VM that runs does nothing but say so.
func TestManagerStartRunningVMIsANoOp(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("web", true)
	var notes []string
	v, err := h.m.Start(h.ctx, "web", func(e progress.Event) { notes = append(notes, e.Message) })
	if err != nil || v.State != StateRunning {
		t.Fatalf("Start of a running VM = %+v, %v", v, err)
	}
	if n := h.calls("Start", "web"); n != 1 {
		t.Errorf("VMM started %d times, want once", n)
	}
	if !slices.ContainsFunc(notes, func(s string) bool { return strings.Contains(s, "already running") }) {
		t.Errorf("progress notes %q: want one saying it is already running", notes)
	}
}

// Delete refuses a running VM without force, and says how to go on;
// with force, or once stopped, it leaves nothing behind.
func TestManagerDeleteRunningNeedsForce(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("web", true)
	err := h.m.Delete(h.ctx, "web", false)
	if errdefs.KindOf(err) != errdefs.KindFailedPrecondition || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("Delete of a running VM without force = %v, want it refused, naming --force", err)
	}
	h.assertRunning("web")
	if _, err := h.m.Stop(h.ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Delete(h.ctx, "web", false); err != nil {
		t.Fatalf("Delete of a stopped VM: %v", err)
	}
	h.assertGone("web")

	v := h.mustCreate("again", true)
	if err := h.m.Delete(h.ctx, "again", true); err != nil {
		t.Fatalf("Delete --force: %v", err)
	}
	h.assertGone("again")
	if st := h.vmm.StateOf(h.runDir(v)); st != vmm.StateStopped {
		t.Errorf("VMM of a force-deleted VM is %s", st)
	}
	if err := h.m.Delete(h.ctx, "again", true); errdefs.KindOf(err) != errdefs.KindNotFound {
		t.Errorf("deleting a deleted VM = %v, want not found", err)
	}
}

// Create refuses what it cannot make before making anything.
func TestManagerCreateRefusesBadRequests(t *testing.T) {
	h := mtManager(t)
	h.mustCreate("web", true)
	h.vmm.ResetCalls()
	err := func() error { _, err := h.create("web", true); return err }()
	if errdefs.KindOf(err) != errdefs.KindAlreadyExists || !strings.Contains(err.Error(), "banger vm delete web") {
		t.Errorf("a second VM named web: %v, want already exists with how to remove the first", err)
	}
	bad := h.request("small", true)
	bad.MemoryMiB = 0
	if _, err := h.m.Create(h.ctx, bad, nil); errdefs.KindOf(err) != errdefs.KindInvalidArgument {
		t.Errorf("a VM with no memory: %v, want invalid argument", err)
	}
	bad = h.request("Not_A_Name", true)
	if _, err := h.m.Create(h.ctx, bad, nil); err == nil {
		t.Error("a VM with an invalid name was created")
	}
	bad = h.request("snap", true)
	bad.FromSnapshot = "s1"
	if _, err := h.m.Create(h.ctx, bad, nil); errdefs.KindOf(err) != errdefs.KindInvalidArgument {
		t.Errorf("from a snapshot with an image and sizes: %v, want invalid argument", err)
	}
	bad = h.request("policy", true)
	bad.Network = "sometimes"
	if _, err := h.m.Create(h.ctx, bad, nil); err == nil {
		t.Error("a VM with a bad network policy was created")
	}
	missing := h.request("missing", true)
	missing.Image = "nope"
	if _, err := h.m.Create(h.ctx, missing, nil); errdefs.KindOf(err) != errdefs.KindNotFound {
		t.Errorf("a VM of a missing image: %v, want not found", err)
	}
	if m := h.vmm.Methods(); len(m) != 0 {
		t.Errorf("refused creates called the VMM: %q", m)
	}
	list, _ := h.m.List(h.ctx)
	if len(list) != 1 {
		t.Errorf("refused creates left records: %+v", list)
	}
}

// A VM created with a network policy gets it on its tap; SetNetwork
// changes it at once on a running VM.
func TestManagerNetworkPolicy(t *testing.T) {
	h := mtManager(t)
	req := h.request("quiet", true)
	req.Network = "none"
	v, err := h.m.Create(h.ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := h.net.Policy(v.Tap); p.Policy.Mode != network.PolicyNone {
		t.Errorf("policy on the tap = %+v, want none", p.Policy)
	}
	if _, err := h.m.SSHTarget(h.ctx, "quiet"); errdefs.KindOf(err) != errdefs.KindFailedPrecondition || !strings.Contains(err.Error(), "banger vm exec quiet") {
		t.Errorf("SSHTarget under policy none = %v, want it refused with the way in", err)
	}
	got, err := h.m.SetNetwork(h.ctx, "quiet", "open")
	if err != nil || got.Network != "open" || h.get("quiet").Network != "open" {
		t.Fatalf("SetNetwork = %+v, %v; want open recorded", got, err)
	}
	if p, _ := h.net.Policy(v.Tap); p.Policy.Mode != network.PolicyOpen {
		t.Errorf("policy on the tap after SetNetwork = %+v, want open", p.Policy)
	}
	boom := errors.New("nft refused")
	h.net.FailOnce("SetPolicy", boom)
	if _, err := h.m.SetNetwork(h.ctx, "quiet", "internet"); !errors.Is(err, boom) {
		t.Errorf("SetNetwork whose rules fail = %v, want the cause", err)
	}
	if got := h.get("quiet").Network; got != "open" {
		t.Errorf("a failed SetNetwork recorded %q, want open kept", got)
	}
}
