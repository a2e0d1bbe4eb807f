package vm

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/guestssh"
	"banger/internal/paths"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/version"
	"banger/internal/vmdisk"
	"banger/internal/vmm"
	"banger/internal/vmm/qemu"
)

// A warm template is a guest booted once to agent-ready and saved: its
// memory and device state, and the root disk that matches it. VMs of the
// same image, kernel, vCPUs and memory are restored from it instead of
// booting (see docs/adr/0006-warm-starts.md).
const (
	templateFormat = "banger-template/2"
	templateState  = paths.StateName
	templateMeta   = paths.TemplateMetaName
	// templateWorkSize is the apparent size of the template's stand-in
	// work disk. The guest learns a block device's size when it finds it,
	// and a restored guest keeps believing the template's, so the stand-in
	// is as large as any work disk will be: a clone's smaller disk is fine,
	// its filesystem never reaches past its own end.
	templateWorkSize = 4 << 40
	// templateMAC is the NIC address inside every template; a clone's
	// agent changes it to the VM's own.
	templateMAC = "06:00:00:00:00:01"
	// templateHostname is the template guest's name until a clone renames it.
	templateHostname = "banger-template"
)

// TemplateInfo describes a saved template.
type TemplateInfo struct {
	Format    string    `json:"format"`
	Key       string    `json:"key"`
	Image     string    `json:"image"`
	Kernel    string    `json:"kernel"`
	VCPU      int       `json:"vcpu"`
	MemoryMiB int       `json:"memory_mib"`
	VMM       string    `json:"vmm"`
	Accel     string    `json:"accel"`
	RootMode  string    `json:"root_mode"`
	Cmdline   string    `json:"cmdline"`
	Created   time.Time `json:"created"`
	// Bytes is what the template takes on disk.
	Bytes int64 `json:"bytes"`
}

// templateKey names the template of a combination. It changes when the
// image's or kernel's files change, or banger's version (and with it the
// guest agent), so a stale template is never restored.
func templateKey(im store.Image, k store.Kernel, vcpu, memoryMiB int, vmmName, accel string) string {
	h := sha256.New()
	fmt.Fprintln(h, templateFormat, version.Version, vmmName, accel, vcpu, memoryMiB)
	fmt.Fprint(h, filesKey(im, k))
	fmt.Fprintln(h, im.Name, im.Digest, k.Name)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// accelFor is the accelerator a driver will use, for the template key.
func accelFor(drv vmm.Driver) string {
	if _, ok := drv.(*qemu.Driver); ok {
		a := qemu.DetectAccel()
		return a.Name + a.ExtraCmdline // the guest's clock rate is part of the machine
	}
	return "kvm"
}

// loadTemplate returns the template in dir, if complete.
func loadTemplate(dir string) (TemplateInfo, bool) {
	var t TemplateInfo
	b, err := os.ReadFile(filepath.Join(dir, templateMeta))
	if err != nil || json.Unmarshal(b, &t) != nil || t.Format != templateFormat {
		return TemplateInfo{}, false
	}
	if _, err := os.Stat(filepath.Join(dir, templateState)); err != nil {
		return TemplateInfo{}, false
	}
	return t, true
}

// templateRootName is the root disk file of a template made in mode.
func templateRootName(mode string) string {
	if mode == string(vmdisk.ModeClone) {
		return vmdisk.CloneName
	}
	return vmdisk.UpperName
}

// listTemplates returns every complete template, for image.
func (m *Manager) listTemplates(image string) []TemplateInfo {
	entries, _ := os.ReadDir(m.dirs.TemplatesDir())
	var out []TemplateInfo
	for _, e := range entries {
		if t, ok := loadTemplate(filepath.Join(m.dirs.TemplatesDir(), e.Name())); ok && (image == "" || t.Image == image) {
			out = append(out, t)
		}
	}
	return out
}

// removeTemplates deletes image's templates (all of them for "").
func (m *Manager) removeTemplates(image string) error {
	entries, err := os.ReadDir(m.dirs.TemplatesDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	for _, e := range entries {
		dir := filepath.Join(m.dirs.TemplatesDir(), e.Name())
		t, ok := loadTemplate(dir)
		if image == "" || (ok && t.Image == image) || !ok {
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureTemplate returns the template for the combination, making it when
// there is none: boot the image once without identity, network address
// or work disk, wait for the agent, save the state.
func (m *Manager) ensureTemplate(ctx context.Context, im store.Image, k store.Kernel, vcpu, memoryMiB int, vmmName string, prog progress.Func) (TemplateInfo, string, error) {
	drv, err := m.driver(vmmName)
	if err != nil {
		return TemplateInfo{}, "", err
	}
	snap, ok := drv.(vmm.Snapshotter)
	if !ok {
		return TemplateInfo{}, "", errdefs.FailedPrecondition("the %s driver cannot save VM state", vmmName)
	}
	key := templateKey(im, k, vcpu, memoryMiB, vmmName, accelFor(drv))
	dir := filepath.Join(m.dirs.TemplatesDir(), key)
	defer m.locks.Lock("template/" + key)()
	if t, ok := loadTemplate(dir); ok {
		return t, dir, nil
	}
	prog.Step(fmt.Sprintf("making a warm template of %s (%d vcpu, %d MiB), once", im.Name, vcpu, memoryMiB))
	// Made in place: Firecracker's snapshot records the paths of the
	// drives it was taken with. template.json, written last, marks it
	// complete; a failure removes the directory.
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return TemplateInfo{}, "", err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(dir)
		}
	}()
	root, err := vmdisk.PrepareRoot(ctx, im.RootfsPath, dir)
	if err != nil {
		return TemplateInfo{}, "", err
	}
	placeholder := filepath.Join(dir, "work.placeholder")
	if err := makeSparse(placeholder, templateWorkSize); err != nil {
		return TemplateInfo{}, "", err
	}
	runDir := filepath.Join(m.dirs.Runtime, "template", key)
	os.RemoveAll(runDir)
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return TemplateInfo{}, "", err
	}
	defer os.RemoveAll(runDir)
	// Recorded before anything is made, for a daemon started after a
	// crash to undo (see sweepTemplateBuilds).
	build := templateBuild{VMM: vmmName, Dir: dir}
	if vmmName == "firecracker" {
		build.Tap = templateTapName(key)
	}
	if err := recordTemplateBuild(runDir, build); err != nil {
		return TemplateInfo{}, "", err
	}
	nic := vmm.NIC{ID: "net0", MAC: templateMAC}
	if vmmName == "firecracker" {
		// Firecracker's NICs need a tap; the template gets one of its own,
		// and its clones another through the snapshot's network overrides.
		tap, release, err := m.templateTap(ctx, key)
		if err != nil {
			return TemplateInfo{}, "", err
		}
		defer release()
		nic.Tap = tap
	}
	spec := vmm.Spec{
		Name: "template-" + key[:8], VCPU: vcpu, MemoryMiB: memoryMiB,
		Kernel: k.Path, Initrd: k.InitrdPath,
		Cmdline:     root.Cmdline() + " systemd.hostname=" + templateHostname,
		Disks:       append(root.Disks(), vmm.Disk{ID: "work", Path: placeholder}),
		NICs:        []vmm.NIC{nic},
		RunDir:      runDir,
		AgentSocket: filepath.Join(runDir, paths.AgentSocketName),
	}
	info, err := drv.Start(ctx, spec)
	if err != nil {
		return TemplateInfo{}, "", err
	}
	defer drv.Kill(context.WithoutCancel(ctx), spec)
	if _, err := m.waitReady(ctx, drv, spec); err != nil {
		return TemplateInfo{}, "", fmt.Errorf("the template guest did not get ready: %w", err)
	}
	prog.Step("letting the template guest finish booting")
	m.settleGuest(ctx, drv, spec)
	if err := snap.SaveState(ctx, spec, filepath.Join(dir, templateState)); err != nil {
		return TemplateInfo{}, "", err
	}
	if err := drv.Kill(ctx, spec); err != nil {
		return TemplateInfo{}, "", err
	}
	t := TemplateInfo{
		Format: templateFormat, Key: key, Image: im.Name, Kernel: k.Name,
		VCPU: vcpu, MemoryMiB: memoryMiB, VMM: vmmName, Accel: info.Accelerator,
		RootMode: string(root.Mode), Cmdline: spec.Cmdline, Created: time.Now().UTC(),
		Bytes: diskUsage(dir),
	}
	b, _ := json.MarshalIndent(t, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, templateMeta), b, 0o600); err != nil {
		return TemplateInfo{}, "", err
	}
	done = true
	m.log.Info("warm template saved", "image", im.Name, "key", key, "bytes", t.Bytes)
	return t, dir, nil
}

// settleWait bounds waiting for a template guest's boot to finish.
const settleWait = 3 * time.Minute

// settleGuest waits, within settleWait, until the template guest's service
// manager has finished booting (services started or failed), so that it is
// saved idle: a guest saved as soon as its agent answers would have every
// clone finish the boot again, each with its own CPU. A guest without
// systemd, or one that does not settle, is saved as it is.
func (m *Manager) settleGuest(ctx context.Context, drv vmm.Driver, spec vmm.Spec) {
	ctx, cancel := context.WithTimeout(ctx, settleWait)
	defer cancel()
	began := time.Now()
	err := func() error {
		c, err := agentclient.Dial(ctx, agentEndpoint(drv, spec))
		if err != nil {
			return err
		}
		mux, err := agentclient.Upgrade(ctx, c)
		if err != nil {
			c.Close()
			return err
		}
		defer mux.Close()
		ch, err := mux.Exec(ctx, agentproto.ExecSpec{Argv: []string{"systemctl", "is-system-running", "--wait"}, Dir: "/"})
		if err != nil {
			return err
		}
		for {
			ev, err := ch.Next(ctx)
			if err != nil {
				return err
			}
			if ev.Exit != nil || ev.End {
				return nil
			}
		}
	}()
	m.log.Info("template guest settled", "vm", spec.Name, "waited", time.Since(began).Round(time.Millisecond), "err", err)
}

// templateTap makes a tap on the bridge for a template guest; release
// removes it, and the bridge too when no VM needs it.
func (m *Manager) templateTap(ctx context.Context, key string) (string, func(), error) {
	nc, err := m.netConfig()
	if err != nil {
		return "", nil, err
	}
	tap := templateTapName(key)
	m.netMu.Lock()
	defer m.netMu.Unlock()
	if err := m.net.EnsureBridge(ctx, nc); err != nil {
		return "", nil, err
	}
	if err := m.net.EnsureTap(ctx, nc, tap, os.Getuid()); err != nil {
		return "", nil, err
	}
	release := func() {
		ctx := context.WithoutCancel(ctx)
		m.netMu.Lock()
		defer m.netMu.Unlock()
		if err := m.net.DeleteTap(ctx, tap); err != nil {
			m.log.Warn("removing a template's tap", "tap", tap, "err", err)
		}
		if !m.TapsInUse(ctx) && !m.templateTapsInUse(tap) {
			if err := m.net.Teardown(ctx, nc); err != nil {
				m.log.Warn("removing the bridge", "err", err)
			}
		}
	}
	return tap, release, nil
}

// templateTapName is the tap of the template with key.
func templateTapName(key string) string { return "bg-t" + key[:8] }

// makeSparse makes a file of size that takes no space.
func makeSparse(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// blocksOf is the space a file takes, holes left out.
func blocksOf(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}

// diskUsage is the space the files under dir take, holes left out.
func diskUsage(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += blocksOf(fi)
			}
		}
		return nil
	})
	return n
}

// restoreVM starts v from template t (in dir) instead of booting it: its
// root disk is a copy of the template's, the VMM loads the saved state,
// and the agent gives the guest v's identity and mounts its work disk. The
// caller falls back to a cold boot on any error, after restoreVM has
// undone what it did.
func (m *Manager) restoreVM(ctx context.Context, v *store.VM, im store.Image, k store.Kernel, t TemplateInfo, dir string, prog progress.Func) (err error) {
	prog.Step("restoring from the warm template")
	v.RootMode = t.RootMode
	rootFile := filepath.Join(m.vmDir(v.Name), templateRootName(t.RootMode))
	if err := vmdisk.CopyDisk(ctx, filepath.Join(dir, templateRootName(t.RootMode)), rootFile); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(rootFile) // the cold boot makes a fresh one
		}
	}()
	// The machine must be the template's: its command line and device MAC.
	machine := vmm.Spec{Cmdline: t.Cmdline, NICs: []vmm.NIC{{MAC: templateMAC}}}
	return m.restoreMachine(ctx, v, im, k, machine, filepath.Join(dir, templateState), m.rootOf(*v, im).WorkDevice(), false)
}

// restoreMachine starts v, whose disks are in place, from saved state
// instead of booting it, and has the agent give the guest v's identity,
// mounting workDevice at /root when set. The machine must be the one that
// was saved: its command line and NIC MACs come from machine; the taps
// and disk files are v's. A guest saved with another VM's addresses is
// kept off the bridge (unplugged) until it has taken v's. On error
// nothing of the start is left.
func (m *Manager) restoreMachine(ctx context.Context, v *store.VM, im store.Image, k store.Kernel, machine vmm.Spec, state, workDevice string, unplugged bool) error {
	drv, err := m.driver(v.VMM)
	if err != nil {
		return err
	}
	snap, ok := drv.(vmm.Snapshotter)
	if !ok {
		return fmt.Errorf("the %s driver cannot restore VM state", v.VMM)
	}
	began := time.Now()
	spec, err := m.prepareLaunch(ctx, v, im, k, unplugged)
	if err != nil {
		return err
	}
	spec.Cmdline = machine.Cmdline
	for i := range spec.NICs {
		if i < len(machine.NICs) {
			spec.NICs[i].MAC = machine.NICs[i].MAC
		}
	}
	prepared := time.Now()
	info, err := snap.Restore(ctx, spec, state)
	if err != nil {
		m.releaseNetwork(context.WithoutCancel(ctx), v)
		return err
	}
	undo := func() {
		drv.Kill(context.WithoutCancel(ctx), spec)
		m.releaseNetwork(context.WithoutCancel(ctx), v)
	}
	if err := saveMachine(spec); err != nil {
		undo()
		return err
	}
	v.Accel, v.State, v.LastError = info.Accelerator, unfinishedState(v.State), ""
	if err := m.store.UpdateVM(ctx, *v); err != nil {
		undo()
		return err
	}
	restored := time.Now()
	st, err := m.identify(ctx, drv, spec, *v, workDevice)
	if err != nil {
		undo()
		return err
	}
	m.log.Info("restored from saved state", "vm", v.Name, "state", state,
		"network", prepared.Sub(began).Round(time.Millisecond),
		"restore", restored.Sub(prepared).Round(time.Millisecond),
		"identity", time.Since(restored).Round(time.Millisecond))
	if len(st.HostKeys) == 0 && st.SSH {
		undo()
		return errors.New("the restored guest reported no ssh host key")
	}
	if err := guestssh.WriteKnownHosts(m.knownHosts(v.Name), v.Name, st.HostKeys); err != nil {
		undo()
		return err
	}
	if unplugged {
		if err := m.plugTap(ctx, *v); err != nil {
			undo()
			return err
		}
	}
	if st.SSH {
		if err := m.waitGuestSSH(ctx, *v); err != nil {
			undo()
			return err
		}
	}
	m.watch(*v, drv, spec)
	v.State = StateRunning
	return m.store.UpdateVM(ctx, *v)
}

// identify sends the restored guest its identity and waits for it to be
// ready under it.
func (m *Manager) identify(ctx context.Context, drv vmm.Driver, spec vmm.Spec, v store.VM, workDevice string) (agentproto.Status, error) {
	nc, err := m.netConfig()
	if err != nil {
		return agentproto.Status{}, err
	}
	ip, err := netip.ParseAddr(v.IP)
	if err != nil {
		return agentproto.Status{}, fmt.Errorf("VM %s has a bad address %q", v.Name, v.IP)
	}
	entropy := make([]byte, 64)
	if _, err := rand.Read(entropy); err != nil {
		return agentproto.Status{}, err
	}
	var dns []string
	for _, a := range m.guestResolvers(nc.Gateway()) {
		dns = append(dns, a.String())
	}
	id := agentproto.Identity{
		Hostname: v.Name, MAC: v.MAC,
		Address: netip.PrefixFrom(ip, nc.Subnet.Bits()).String(), Gateway: nc.Gateway().String(), DNS: dns,
		Entropy: entropy, WorkDevice: workDevice,
	}
	timeout := min(readyTimeout(), restoreReadyTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := agentclient.Dial(ctx, agentEndpoint(drv, spec))
	if err != nil {
		return agentproto.Status{}, err
	}
	defer c.Close()
	id.TimeUnixNano = time.Now().UnixNano()
	return c.Identify(ctx, id, timeout)
}

// restoreReadyTimeout bounds a restored guest's way to ready: no boot,
// only its new identity.
const restoreReadyTimeout = 60 * time.Second

// Templates lists image's complete warm templates (every image's for "").
func (m *Manager) Templates(image string) []TemplateInfo { return m.listTemplates(image) }

// RemoveTemplates deletes image's warm templates, for a removed image.
func (m *Manager) RemoveTemplates(image string) error { return m.removeTemplates(image) }

// WarmImage makes the warm template of an image at one size, as the first
// VM of that combination would.
func (m *Manager) WarmImage(ctx context.Context, image string, vcpu, memoryMiB int, prog progress.Func) (TemplateInfo, error) {
	if vcpu < 1 || memoryMiB < 128 {
		return TemplateInfo{}, errdefs.InvalidArgument("a template needs at least 1 vcpu and 128 MiB")
	}
	if err := checkHostFits(config.DetectHost(), vcpu, memoryMiB); err != nil {
		return TemplateInfo{}, err
	}
	vmmName, err := m.pickVMM()
	if err != nil {
		return TemplateInfo{}, err
	}
	im, k, err := m.lib.Resolve(ctx, image, "", prog)
	if err != nil {
		return TemplateInfo{}, err
	}
	t, _, err := m.ensureTemplate(ctx, im, k, vcpu, memoryMiB, vmmName, prog)
	return t, err
}
