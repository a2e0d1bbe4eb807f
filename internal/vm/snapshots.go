package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/paths"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmdisk"
	"banger/internal/vmm"
	"banger/internal/vmname"
)

// A snapshot is a running VM saved whole: its memory and device state and
// copies of its writable disks, root and work disk alike. VMs created from
// it go on from that moment, each under an identity of its own (see
// docs/adr/0006-warm-starts.md). Unlike a warm template, a snapshot keeps
// the work disk: what was in /root, and every process, comes along.
const (
	snapshotFormat = "banger-snapshot/1"
	snapshotMeta   = paths.SnapshotMetaName
	snapshotState  = paths.StateName
	// machineFile, in a running VM's run dir, is the machine its VMM was
	// started as: a snapshot must be restored into the same one.
	machineFile = paths.MachineName
	// prepareSnapshotWait bounds the guest's flush before a snapshot.
	prepareSnapshotWait = 30 * time.Second
)

// SnapshotInfo describes a saved snapshot, as snapshot.json records it:
// what the API shows of it, and what restoring it needs.
type SnapshotInfo struct {
	Format    string    `json:"format"`
	Name      string    `json:"name"`
	VM        string    `json:"vm"` // the VM it was taken of
	Image     string    `json:"image"`
	Kernel    string    `json:"kernel"`
	VCPU      int       `json:"vcpu"`
	MemoryMiB int       `json:"memory_mib"`
	DiskBytes int64     `json:"disk_bytes"`
	VMM       string    `json:"vmm"`
	Accel     string    `json:"accel"`
	Bytes     int64     `json:"bytes"` // on disk
	CreatedAt time.Time `json:"created_at"`
	// AccelKey is accelFor at save time: a snapshot restores only on the
	// same accelerator (and, under emulation, the same guest clock rate).
	AccelKey string `json:"accel_key"`
	RootMode string `json:"root_mode"`
	// Files fingerprints the image and kernel files the disks rest on.
	Files string `json:"files"`
	// Machine is the VM as its VMM ran it when saved: command line, NIC
	// MACs and disk files.
	Machine vmm.Spec `json:"machine"`
	// Disks are the files in the snapshot's directory, each restored to the
	// file of that name in the new VM's directory.
	Disks []string `json:"disks"`
}

// GetSnapshot returns snapshot name, with a hint when there is none.
func (m *Manager) GetSnapshot(name string) (SnapshotInfo, error) {
	if err := vmname.ValidateResource("snapshot", name); err != nil {
		return SnapshotInfo{}, err
	}
	var sn SnapshotInfo
	b, err := os.ReadFile(filepath.Join(m.dirs.SnapshotDir(name), snapshotMeta))
	if errors.Is(err, os.ErrNotExist) {
		return sn, errdefs.NotFound("no snapshot named %s: `banger snapshot list` shows them", name)
	}
	if err != nil {
		return sn, err
	}
	if err := json.Unmarshal(b, &sn); err != nil || sn.Format != snapshotFormat {
		return sn, errdefs.FailedPrecondition("snapshot %s is damaged or from another version of banger: delete it with `banger snapshot rm %s`", name, name)
	}
	if err := m.checkSnapshotFiles(sn); err != nil {
		return sn, errdefs.FailedPrecondition("snapshot %s is damaged: %v: delete it with `banger snapshot rm %s`", name, err, name)
	}
	return sn, nil
}

// checkSnapshotFiles refuses a snapshot whose record names files outside
// its place: each disk must be a plain file name in the snapshot's
// directory, and each disk of the saved machine a file under the state
// dir, where banger keeps every VM's and image's disks.
func (m *Manager) checkSnapshotFiles(sn SnapshotInfo) error {
	var seen []string
	for _, d := range sn.Disks {
		if !plainFileName(d) || d == snapshotState || d == snapshotMeta || slices.Contains(seen, d) {
			return fmt.Errorf("disk name %q is not a plain file name of its own", d)
		}
		seen = append(seen, d)
	}
	state := filepath.Clean(m.dirs.State) + string(filepath.Separator)
	for _, d := range sn.Machine.Disks {
		if !filepath.IsAbs(d.Path) || filepath.Clean(d.Path) != d.Path || !strings.HasPrefix(d.Path, state) {
			return fmt.Errorf("machine disk %q is not a file under %s", d.Path, state)
		}
	}
	return nil
}

// plainFileName reports whether name names a file in a directory itself,
// not a path: no separator, not empty, "." or "..".
func plainFileName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\\\x00")
}

// Snapshots returns every complete snapshot, oldest first.
func (m *Manager) Snapshots() []SnapshotInfo {
	entries, _ := os.ReadDir(m.dirs.SnapshotsDir())
	var out []SnapshotInfo
	for _, e := range entries {
		if vmname.ValidateResource("snapshot", e.Name()) != nil {
			continue // a partial one being written, or not ours
		}
		if sn, err := m.GetSnapshot(e.Name()); err == nil {
			out = append(out, sn)
		}
	}
	slices.SortFunc(out, func(a, b SnapshotInfo) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// filesKey fingerprints the image and kernel files a VM's disks and
// memory rest on, so that a changed file is noticed before restoring.
func filesKey(im store.Image, k store.Kernel) string {
	var out string
	for _, p := range []string{im.RootfsPath, k.Path, k.InitrdPath} {
		if st, err := os.Stat(p); err == nil {
			out += fmt.Sprintf("%s %d %d\n", p, st.Size(), st.ModTime().UnixNano())
		} else {
			out += p + " missing\n"
		}
	}
	return out
}

// saveMachine records the machine a VMM was started as, in its run dir.
func saveMachine(spec vmm.Spec) error {
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(spec.RunDir, machineFile), b, 0o600)
}

// machineOf is the machine running VM v's VMM was started as; a VM
// booted by a daemon that kept no record is the one its store entry
// describes.
func (m *Manager) machineOf(v store.VM, im store.Image, k store.Kernel) (vmm.Spec, error) {
	if b, err := os.ReadFile(filepath.Join(m.vmRunDir(v), machineFile)); err == nil {
		var spec vmm.Spec
		if err := json.Unmarshal(b, &spec); err == nil {
			return spec, nil
		}
	}
	return m.vmSpec(v, k, m.rootOf(v, im))
}

// Snapshot saves running VM name as snapshot snapName. The guest is
// paused while its state is written and its disks copied, then runs on.
func (m *Manager) Snapshot(ctx context.Context, name, snapName string, prog progress.Func) (sn SnapshotInfo, err error) {
	if snapName == "" {
		stamp := time.Now().Format("20060102-150405")
		snapName = name[:min(len(name), vmname.MaxLen-len(stamp)-1)] + "-" + stamp
	}
	if err := vmname.ValidateResource("snapshot", snapName); err != nil {
		return sn, err
	}
	defer m.lockVM(name)()
	v, err := m.runningVM(ctx, name)
	if err != nil {
		return sn, err
	}
	drv, err := m.driver(v.VMM)
	if err != nil {
		return sn, err
	}
	snap, ok := drv.(vmm.Snapshotter)
	if !ok {
		return sn, errdefs.FailedPrecondition("the %s driver cannot save VM state", v.VMM)
	}
	im, err := m.store.GetImage(ctx, v.Image)
	if err != nil {
		return sn, err
	}
	k, err := m.store.GetKernel(ctx, v.Kernel)
	if err != nil {
		return sn, err
	}
	spec, err := m.machineOf(v, im, k)
	if err != nil {
		return sn, err
	}
	defer m.locks.Lock("snapshot/" + snapName)()
	dir := m.dirs.SnapshotDir(snapName)
	if _, err := os.Stat(dir); err == nil {
		return sn, errdefs.AlreadyExists("a snapshot named %s already exists: pick another --name, or remove it with `banger snapshot rm %s`", snapName, snapName)
	}
	// Written beside its final place under a name no snapshot can have
	// (names start with a letter or digit), and renamed once complete.
	tmp := filepath.Join(m.dirs.SnapshotsDir(), "."+snapName+".partial")
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return sn, err
	}
	defer os.RemoveAll(tmp)

	mux, err := m.Agent(ctx, name)
	if err != nil {
		return sn, fmt.Errorf("reaching VM %s's agent: %w", name, err)
	}
	prog.Step("flushing the guest's disks")
	pctx, cancel := context.WithTimeout(ctx, prepareSnapshotWait)
	err = mux.PrepareSnapshot(pctx)
	cancel()
	if errdefs.KindOf(err) == errdefs.KindFailedPrecondition {
		return sn, errdefs.FailedPrecondition("VM %s runs a guest agent from before snapshots (%v): restart it with `banger vm restart %s` and snapshot it again", name, err, name)
	} else if err != nil {
		return sn, fmt.Errorf("preparing VM %s for a snapshot: %w", name, err)
	}

	prog.Step("saving memory and device state (the VM is paused)")
	paused := time.Now()
	resumed := false
	resume := func() error {
		if resumed {
			return nil
		}
		resumed = true
		err := snap.Resume(context.WithoutCancel(ctx), spec)
		m.log.Info("VM paused for a snapshot", "vm", name, "snapshot", snapName, "paused", time.Since(paused).Round(time.Millisecond), "err", err)
		return err
	}
	defer func() {
		if rerr := resume(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	if err := snap.SaveState(ctx, spec, filepath.Join(tmp, snapshotState)); err != nil {
		return sn, err
	}
	prog.Step("copying disks")
	var disks []string
	for _, d := range spec.Disks {
		if d.ReadOnly {
			continue // the image, shared and never written
		}
		base := filepath.Base(d.Path)
		if slices.Contains(disks, base) || base == snapshotState || base == snapshotMeta {
			return sn, fmt.Errorf("VM %s has two disks named %s", name, base)
		}
		if err := vmdisk.CopyDisk(ctx, d.Path, filepath.Join(tmp, base)); err != nil {
			return sn, fmt.Errorf("copying disk %s: %w", d.ID, err)
		}
		disks = append(disks, base)
	}
	if err := resume(); err != nil {
		return sn, err
	}
	sn = SnapshotInfo{
		Format: snapshotFormat,
		Name:   snapName, VM: name, Image: v.Image, Kernel: v.Kernel,
		VCPU: v.VCPU, MemoryMiB: v.MemoryMiB, DiskBytes: v.DiskBytes, VMM: v.VMM, Accel: v.Accel,
		Bytes: diskUsage(tmp), CreatedAt: time.Now().UTC(),
		AccelKey: accelFor(drv), RootMode: v.RootMode, Files: filesKey(im, k),
		Machine: spec, Disks: disks,
	}
	b, _ := json.MarshalIndent(sn, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, snapshotMeta), b, 0o600); err != nil {
		return sn, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return sn, err
	}
	m.log.Info("snapshot saved", "vm", name, "snapshot", snapName, "bytes", sn.Bytes)
	return sn, nil
}

// createFromSnapshot makes VM v (named, not yet recorded) from snapshot
// snapName: copies of its disks, its memory restored, and an identity of
// its own. Everything else about the VM comes from the snapshot.
func (m *Manager) createFromSnapshot(ctx context.Context, v store.VM, snapName string, prog progress.Func) (store.VM, error) {
	sn, err := m.GetSnapshot(snapName)
	if err != nil {
		return v, err
	}
	drv, err := m.driver(sn.VMM)
	if err != nil {
		return v, err
	}
	if _, ok := drv.(vmm.Snapshotter); !ok {
		return v, errdefs.FailedPrecondition("the %s driver cannot restore VM state", sn.VMM)
	}
	if key := accelFor(drv); key != sn.AccelKey {
		return v, errdefs.FailedPrecondition("snapshot %s was saved on %s (%s) and this host now runs VMs on %s: a snapshot restores only on the accelerator it was saved on", snapName, sn.VMM, sn.AccelKey, key)
	}
	if err := checkHostFits(config.DetectHost(), sn.VCPU, sn.MemoryMiB); err != nil {
		return v, err
	}
	im, err := m.store.GetImage(ctx, sn.Image)
	if err != nil {
		return v, errdefs.FailedPrecondition("snapshot %s needs image %s, which is gone", snapName, sn.Image)
	}
	k, err := m.store.GetKernel(ctx, sn.Kernel)
	if err != nil {
		return v, errdefs.FailedPrecondition("snapshot %s needs kernel %s, which is gone", snapName, sn.Kernel)
	}
	if filesKey(im, k) != sn.Files {
		return v, errdefs.FailedPrecondition("the files of image %s or kernel %s changed since snapshot %s was saved, so its disks no longer match: delete it with `banger snapshot rm %s`", sn.Image, sn.Kernel, snapName, snapName)
	}
	v.State, v.Image, v.Kernel, v.VMM = StateCreating, sn.Image, sn.Kernel, sn.VMM
	v.VCPU, v.MemoryMiB, v.DiskBytes, v.RootMode = sn.VCPU, sn.MemoryMiB, sn.DiskBytes, sn.RootMode
	if err := m.store.CreateVM(ctx, v); err != nil {
		return v, err
	}
	kept := false
	defer func() {
		if !kept {
			if err := m.destroyVM(context.WithoutCancel(ctx), v); err != nil {
				m.log.Warn("undoing a failed create", "vm", v.Name, "err", err)
			}
		}
	}()
	prog.Step("copying the snapshot's disks")
	dir := m.vmDir(v.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return v, err
	}
	for _, d := range sn.Disks {
		if err := vmdisk.CopyDisk(ctx, filepath.Join(m.dirs.SnapshotDir(snapName), d), filepath.Join(dir, d)); err != nil {
			return v, fmt.Errorf("copying disk %s: %w", d, err)
		}
	}
	if err := m.store.UpdateVM(ctx, v); err != nil {
		return v, err
	}
	prog.Step("restoring snapshot " + snapName)
	// The guest mounted its work disk long ago: the copy is where the
	// saved one was, and stays mounted.
	if sn.VMM == "firecracker" {
		// Firecracker reopens the drives the snapshot was taken with before
		// they can be pointed at this VM's copies; stand-ins take the place
		// of any that are gone.
		done, err := standInDrives(sn.Machine.Disks)
		if err != nil {
			return v, err
		}
		defer done()
	}
	if err := m.restoreMachine(ctx, &v, im, k, sn.Machine, filepath.Join(m.dirs.SnapshotDir(snapName), snapshotState), "", true); err != nil {
		return v, fmt.Errorf("restoring snapshot %s: %w", snapName, err)
	}
	kept = true
	return v, nil
}

// standInDrives makes an empty file in place of each missing disk file;
// done removes them.
func standInDrives(disks []vmm.Disk) (done func(), err error) {
	var made []string
	done = func() {
		for _, p := range slices.Backward(made) {
			os.Remove(p)
		}
	}
	for _, d := range disks {
		if _, err := os.Stat(d.Path); !errors.Is(err, os.ErrNotExist) {
			continue
		}
		var dirs []string
		for p := filepath.Dir(d.Path); ; p = filepath.Dir(p) {
			if _, err := os.Stat(p); err == nil || p == filepath.Dir(p) {
				break
			}
			dirs = append(dirs, p)
		}
		if err := os.MkdirAll(filepath.Dir(d.Path), 0o700); err != nil {
			done()
			return nil, err
		}
		for _, dir := range slices.Backward(dirs) {
			made = append(made, dir) // removed deepest first, after the file
		}
		if err := os.WriteFile(d.Path, nil, 0o600); err != nil {
			done()
			return nil, err
		}
		made = append(made, d.Path)
	}
	return done, nil
}

// DeleteSnapshot deletes snapshot name and its files.
func (m *Manager) DeleteSnapshot(name string) error {
	if _, err := m.GetSnapshot(name); err != nil && errdefs.KindOf(err) != errdefs.KindFailedPrecondition {
		return err
	}
	defer m.locks.Lock("snapshot/" + name)()
	return os.RemoveAll(m.dirs.SnapshotDir(name))
}

// snapshotUsers names the snapshots that rest on image or kernel.
func (m *Manager) snapshotUsers(image, kernel string) []string {
	var out []string
	for _, sn := range m.Snapshots() {
		if (image != "" && sn.Image == image) || (kernel != "" && sn.Kernel == kernel) {
			out = append(out, "snapshot "+sn.Name)
		}
	}
	return out
}
