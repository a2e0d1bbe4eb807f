package vm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmdisk"
	"banger/internal/vmm"
)

// snapshotRestoreSteps are the steps that make VM v (named, not yet
// recorded) from snapshot snapName: recording it, copying the snapshot's
// disks, then restoring its memory (see restoreSteps), the guest taking
// an identity of its own. Everything else about the VM comes from the
// snapshot, which is checked first.
func (m *Manager) snapshotRestoreSteps(ctx context.Context, v *store.VM, snapName string, prog progress.Func) ([]step, error) {
	sn, im, k, err := m.snapshots.checkRestore(ctx, snapName, m.store, m.layout)
	if err != nil {
		return nil, err
	}
	v.State, v.Image, v.Kernel, v.VMM = StateCreating, sn.Image, sn.Kernel, sn.VMM
	v.VCPU, v.MemoryMiB, v.DiskBytes, v.RootMode = sn.VCPU, sn.MemoryMiB, sn.DiskBytes, sn.RootMode
	l, err := m.newLaunch(v, im, k)
	if err != nil {
		return nil, err
	}
	snapDir := m.dirs.SnapshotDir(snapName)
	// The guest mounted its work disk long ago: the copy is where the
	// saved one was, and stays mounted.
	restore := l.restoreSteps(&restoreFrom{machine: sn.Machine, state: filepath.Join(snapDir, snapshotState), unplugged: true})
	restore[0].say = says("restoring snapshot " + snapName)
	steps := []step{recordStep(m, v), copyDisksStep(m.layout.vmDir(v.Name), snapDir, sn.Disks)}
	if sn.VMM != "firecracker" {
		return append(steps, restore...), nil
	}
	// Firecracker reopens the drives the snapshot was taken with before
	// they can be pointed at this VM's copies; stand-ins take the place
	// of any that are gone, until the restore is done.
	var done func()
	standIn := step{
		name: "standing in for the snapshot's drives",
		do:   func(context.Context) (err error) { done, err = standInDrives(sn.Machine.Disks); return err },
		undo: func(context.Context) { done() },
	}
	removeStandIns := step{name: "removing the stand-in drives", do: func(context.Context) error { done(); return nil }}
	steps = append(steps, restore[0], standIn)
	steps = append(steps, restore[1:]...)
	return append(steps, removeStandIns), nil
}

// checkRestore returns snapshot snapName with its image and kernel, if
// this host can restore it.
func (ss *snapshotStore) checkRestore(ctx context.Context, snapName string, st *store.Store, lay *layout) (SnapshotInfo, store.Image, store.Kernel, error) {
	var im store.Image
	var k store.Kernel
	sn, err := ss.get(snapName)
	if err != nil {
		return sn, im, k, err
	}
	drv, err := lay.driver(sn.VMM)
	if err != nil {
		return sn, im, k, err
	}
	if _, ok := drv.(vmm.Snapshotter); !ok {
		return sn, im, k, errdefs.FailedPrecondition("the %s driver cannot restore VM state", sn.VMM)
	}
	if key := accelFor(drv); key != sn.AccelKey {
		return sn, im, k, errdefs.FailedPrecondition("snapshot %s was saved on %s (%s) and this host now runs VMs on %s: a snapshot restores only on the accelerator it was saved on", snapName, sn.VMM, sn.AccelKey, key)
	}
	if err := checkHostFits(config.DetectHost(), sn.VCPU, sn.MemoryMiB); err != nil {
		return sn, im, k, err
	}
	if im, err = st.GetImage(ctx, sn.Image); err != nil {
		return sn, im, k, errdefs.FailedPrecondition("snapshot %s needs image %s, which is gone", snapName, sn.Image)
	}
	if k, err = st.GetKernel(ctx, sn.Kernel); err != nil {
		return sn, im, k, errdefs.FailedPrecondition("snapshot %s needs kernel %s, which is gone", snapName, sn.Kernel)
	}
	if filesKey(im, k) != sn.Files {
		return sn, im, k, errdefs.FailedPrecondition("the files of image %s or kernel %s changed since snapshot %s was saved, so its disks no longer match: delete it with `banger snapshot rm %s`", sn.Image, sn.Kernel, snapName, snapName)
	}
	return sn, im, k, nil
}

// copyDisksStep copies a snapshot's disks, in snapDir, into the VM's
// directory dir.
func copyDisksStep(dir, snapDir string, disks []string) step {
	return step{
		name: "copying the snapshot's disks",
		say:  says("copying the snapshot's disks"),
		do: func(ctx context.Context) error {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			for _, d := range disks {
				if err := vmdisk.CopyDisk(ctx, filepath.Join(snapDir, d), filepath.Join(dir, d)); err != nil {
					return fmt.Errorf("copying disk %s: %w", d, err)
				}
			}
			return nil
		},
		undo: func(context.Context) { os.RemoveAll(dir) },
	}
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
