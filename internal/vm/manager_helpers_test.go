package vm

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"banger/internal/api"
	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/network/nettest"
	"banger/internal/paths"
	"banger/internal/store"
	"banger/internal/vmm"
	"banger/internal/vmm/vmmtest"
)

// The tests in the manager_*_test.go files drive a Manager through its
// public API only, on temp dirs, with a real store, the fake VMM of
// vmmtest (whose guests run banger's real agent) and the fake network of
// nettest: what they assert is what a user would see through the API,
// and what would be left on the host.

// mtBridge and mtSubnet are the fake bridge's: a subnet no host here has,
// so nothing the manager binds on the gateway can reach a real network.
const (
	mtBridge = "bgtest0"
	mtSubnet = "10.237.91.0/24"
)

// mtHarness is a Manager and the fakes under it.
type mtHarness struct {
	t      *testing.T
	m      *Manager
	ctx    context.Context
	cancel context.CancelFunc
	dirs   paths.Dirs
	store  *store.Store
	cfg    *config.Config
	vmm    *vmmtest.Driver
	drv    *mtDriver
	net    *nettest.Client
	lib    *mtLibrary
	image  store.Image
	kernel store.Kernel
	logs   *mtLog
	// stop ends the manager's lifetime (its Base), as the daemon exiting.
	stop context.CancelFunc
}

// mtManager is a Manager on temp dirs, with a fake VMM whose guests report
// ssh host keys (as an image with sshd does), a fake network, and a
// library holding one image, "deb", and one kernel, "k". It skips the test
// where mkfs.ext4, which disks are made with, is missing.
func mtManager(t *testing.T) *mtHarness {
	t.Helper()
	mtNeedMkfs(t)
	// Unix socket paths must be short: everything lives under one short
	// temp dir, the fake guests' files too (they are made in TMPDIR).
	base, err := os.MkdirTemp("", "bgt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	tmp := filepath.Join(base, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	h := &mtHarness{t: t, net: nettest.New(), logs: &mtLog{}}
	h.dirs = paths.Dirs{Config: base + "/config", State: base + "/state", Cache: base + "/cache", Runtime: base + "/run"}
	for _, d := range []string{h.dirs.Config, h.dirs.State, h.dirs.Runtime} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	t.Cleanup(h.cancel)
	h.store, err = store.Open(h.ctx, h.dirs.Database())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.store.Close() })
	h.vmm = vmmtest.New(t)
	h.drv = &mtDriver{Driver: h.vmm, tmp: tmp, keys: true}
	h.cfg = config.Default()
	h.cfg.VMM = config.VMMQEMU
	h.cfg.BridgeName, h.cfg.BridgeSubnet = mtBridge, mtSubnet
	h.cfg.SSHKeyPath = filepath.Join(h.dirs.Config, "ssh", "id_ed25519")
	h.addImage("deb", "k")
	h.lib = &mtLibrary{h: h}
	h.start()
	return h
}

// start makes the harness's manager, as a daemon starting on its dirs.
func (h *mtHarness) start() {
	base, stop := context.WithCancel(h.ctx)
	h.stop = stop
	h.m = New(Options{
		Dirs: h.dirs, Store: h.store, Config: func() *config.Config { return h.cfg },
		Library: h.lib, Network: h.net, Drivers: map[string]vmm.Driver{"qemu": h.drv},
		Log: slog.New(h.logs), Base: base,
	})
	h.t.Cleanup(h.m.Close)
}

// restart ends the manager, as a daemon exiting, while the VMMs run on,
// and starts another on the same dirs, store and host; between the two,
// during runs, as what happens while no daemon runs. The new manager
// has recovered and adopted what it found.
func (h *mtHarness) restart(during func()) {
	h.t.Helper()
	h.stop()
	h.m.Close()
	if during != nil {
		during()
	}
	h.start()
	h.m.Recover(h.ctx)
	h.m.Adopt(h.ctx)
}

// mtNeedMkfs skips the test when e2fsprogs is not installed.
func mtNeedMkfs(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("mkfs.ext4"); err == nil {
		return
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if _, err := os.Stat(filepath.Join(d, "mkfs.ext4")); err == nil {
			return
		}
	}
	t.Skip("mkfs.ext4 is not installed (apt-get install e2fsprogs)")
}

// addImage records image name, whose rootfs is a file under the state
// dir (where a snapshot expects every disk), with kernel kernel.
func (h *mtHarness) addImage(name, kernel string) {
	h.t.Helper()
	rootfs := filepath.Join(h.dirs.ImageDir(name), "rootfs.ext4")
	kpath := filepath.Join(h.dirs.KernelDir(kernel), "vmlinuz")
	for path, content := range map[string]string{rootfs: "a root filesystem", kpath: "a kernel"} {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			h.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			h.t.Fatal(err)
		}
	}
	im := store.Image{Name: name, Source: "register", RootfsPath: rootfs, Kernel: kernel}
	k := store.Kernel{Name: kernel, Path: kpath, Source: "register"}
	if err := h.store.CreateImage(h.ctx, im); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.store.GetKernel(h.ctx, kernel); err != nil {
		if err := h.store.CreateKernel(h.ctx, k); err != nil {
			h.t.Fatal(err)
		}
	}
	if h.image.Name == "" {
		h.image, h.kernel = im, k
	}
}

// request is a create request for a small VM of the harness's image.
func (h *mtHarness) request(name string, cold bool) api.CreateVMRequest {
	return api.CreateVMRequest{Name: name, Image: h.image.Name, VCPU: 1, MemoryMiB: 256, DiskBytes: 64 << 20, Cold: cold}
}

// create makes VM name from the harness's image, cold or warm.
func (h *mtHarness) create(name string, cold bool) (store.VM, error) {
	return h.m.Create(h.ctx, h.request(name, cold), nil)
}

// mustCreate makes VM name and fails the test unless it runs.
func (h *mtHarness) mustCreate(name string, cold bool) store.VM {
	h.t.Helper()
	v, err := h.create(name, cold)
	if err != nil {
		h.t.Fatalf("creating VM %s: %v", name, err)
	}
	h.assertRunning(name)
	return v
}

// get is VM name's record; it fails the test when there is none.
func (h *mtHarness) get(name string) store.VM {
	h.t.Helper()
	v, err := h.m.Get(h.ctx, name)
	if err != nil {
		h.t.Fatalf("Get(%s): %v", name, err)
	}
	return v
}

// runDir is where the fake VMM runs VM v.
func (h *mtHarness) runDir(v store.VM) string { return h.dirs.VMRunDir(v.VID) }

// assertRunning checks what a running VM has: the state, an address, a
// MAC and a tap on the bridge with its policy, and a VMM that runs.
func (h *mtHarness) assertRunning(name string) store.VM {
	h.t.Helper()
	v := h.get(name)
	if v.State != StateRunning || v.LastError != "" {
		h.t.Fatalf("VM %s is %s (last error %q), want running with no error", name, v.State, v.LastError)
	}
	if v.IP == "" || v.MAC == "" || v.Tap == "" {
		h.t.Fatalf("running VM %s has address %q, MAC %q, tap %q: want all three", name, v.IP, v.MAC, v.Tap)
	}
	tap, ok := h.net.Tap(v.Tap)
	if !ok || tap.Bridge != mtBridge || !tap.Plugged {
		h.t.Fatalf("VM %s's tap %s: %+v (exists %v), want it plugged into %s", name, v.Tap, tap, ok, mtBridge)
	}
	p, ok := h.net.Policy(v.Tap)
	if !ok || p.Guest.IP.String() != v.IP || p.Guest.MAC != v.MAC {
		h.t.Fatalf("VM %s's tap has policy %+v (set %v), want one for %s at %s", name, p, ok, v.MAC, v.IP)
	}
	if st := h.vmm.StateOf(h.runDir(v)); st != vmm.StateRunning {
		h.t.Fatalf("VM %s's VMM is %s, want running", name, st)
	}
	return v
}

// assertGone checks that nothing of VM name is left: no record, no VM
// dir, no run dir, no VMM running, no tap, and no bridge when no VM needs
// one.
func (h *mtHarness) assertGone(name string) {
	h.t.Helper()
	if _, err := h.m.Get(h.ctx, name); errdefs.KindOf(err) != errdefs.KindNotFound {
		h.t.Errorf("Get(%s) after its removal = %v, want not found", name, err)
	}
	if _, err := os.Stat(h.dirs.VMDir(name)); !errors.Is(err, os.ErrNotExist) {
		h.t.Errorf("VM dir of %s is left behind (%v)", name, err)
	}
	h.assertNoLeaks()
}

// assertNoLeaks checks that no VM runs: no run dirs, no fake VMM
// running, no taps, and no bridge once no VM is left.
func (h *mtHarness) assertNoLeaks() {
	h.t.Helper()
	vms, err := h.m.List(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, sub := range []string{"vm", "template"} {
		if left, _ := os.ReadDir(filepath.Join(h.dirs.Runtime, sub)); len(left) > 0 && len(vms) == 0 {
			h.t.Errorf("run dirs left in %s: %v", sub, mtNames(left))
		}
	}
	for _, c := range h.vmm.Calls() {
		if st := h.vmm.StateOf(c.Spec.RunDir); st != vmm.StateStopped && !h.owns(vms, c.Spec.RunDir) {
			h.t.Errorf("the VMM of %s (%s) is still %s", c.Spec.Name, c.Spec.RunDir, st)
		}
	}
	for _, tap := range h.net.Taps() {
		if !slices.ContainsFunc(vms, func(v store.VM) bool { return v.Tap == tap.Name }) {
			h.t.Errorf("tap %s is left, held by no VM", tap.Name)
		}
	}
	if len(vms) == 0 {
		if b := h.net.Bridges(); len(b) > 0 {
			h.t.Errorf("bridges left with no VM: %+v", b)
		}
	}
}

// owns reports whether one of vms runs in runDir.
func (h *mtHarness) owns(vms []store.VM, runDir string) bool {
	return slices.ContainsFunc(vms, func(v store.VM) bool { return h.runDir(v) == runDir })
}

// waitFor polls what until it holds, failing the test after a while.
func (h *mtHarness) waitFor(what string, ok func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitState waits until VM name is recorded in state.
func (h *mtHarness) waitState(name, state string) store.VM {
	h.t.Helper()
	var v store.VM
	h.waitFor("VM "+name+" to be "+state, func() bool {
		v, _ = h.m.Get(h.ctx, name)
		return v.State == state
	})
	return v
}

// calls counts the VMM calls of method whose spec is VM name's.
func (h *mtHarness) calls(method, name string) int {
	n := 0
	for _, c := range h.vmm.Calls() {
		if c.Method == method && (name == "" || c.Spec.Name == name) {
			n++
		}
	}
	return n
}

func mtNames(entries []os.DirEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Name()
	}
	return out
}
