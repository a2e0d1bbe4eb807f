package vm

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"banger/internal/atomicfile"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmdisk"
	"banger/internal/vmm"
	"banger/internal/vmname"
)

// Snapshot saves running VM name as snapshot snapName. The guest is
// paused while its state is written and its disks copied, then runs on.
func (m *Manager) Snapshot(ctx context.Context, name, snapName string, prog progress.Func) (SnapshotInfo, error) {
	if snapName == "" {
		stamp := time.Now().Format("20060102-150405")
		snapName = name[:min(len(name), vmname.MaxLen-len(stamp)-1)] + "-" + stamp
	}
	if err := vmname.ValidateResource("snapshot", snapName); err != nil {
		return SnapshotInfo{}, err
	}
	defer m.lockVM(name)()
	s, err := newSnapshotSave(ctx, m, name, snapName)
	if err != nil {
		return SnapshotInfo{}, err
	}
	defer m.snapshots.locks.Lock("snapshot/" + snapName)()
	if _, err := os.Stat(s.dir); err == nil {
		return SnapshotInfo{}, errdefs.AlreadyExists("a snapshot named %s already exists: pick another --name, or remove it with `banger snapshot rm %s`", snapName, snapName)
	}
	if err := runSteps(ctx, m.log, prog, s.steps()); err != nil {
		return SnapshotInfo{}, err
	}
	m.log.Info("snapshot saved", "vm", name, "snapshot", snapName, "bytes", s.info.Bytes)
	return s.info, nil
}

// snapshotSave is one saving of a snapshot, which its steps share. It is
// written beside its final place under a name no snapshot can have (names
// start with a letter or digit), and renamed once complete.
type snapshotSave struct {
	m       *Manager
	v       store.VM
	im      store.Image
	k       store.Kernel
	drv     vmm.Driver
	snap    vmm.Snapshotter
	spec    vmm.Spec // the machine as it runs
	name    string
	dir     string
	tmp     string
	state   string // where save writes the state; "" for the snapshot's
	paused  time.Time
	resumed bool
	disks   []string // the copies' file names
	info    SnapshotInfo
}

func newSnapshotSave(ctx context.Context, m *Manager, name, snapName string) (*snapshotSave, error) {
	s, err := newSave(ctx, m, name)
	if err != nil {
		return nil, err
	}
	s.name, s.dir = snapName, m.dirs.SnapshotDir(snapName)
	s.tmp = filepath.Join(m.dirs.SnapshotsDir(), "."+snapName+".partial")
	return s, nil
}

// newSave is the saving of running VM name's state, for a snapshot or a
// suspend: its driver, image, kernel and machine.
func newSave(ctx context.Context, m *Manager, name string) (*snapshotSave, error) {
	v, err := m.agents.running(ctx, name)
	if err != nil {
		return nil, err
	}
	s := &snapshotSave{m: m, v: v}
	if s.drv, err = m.layout.driver(v.VMM); err != nil {
		return nil, err
	}
	var ok bool
	if s.snap, ok = s.drv.(vmm.Snapshotter); !ok {
		return nil, errdefs.FailedPrecondition("the %s driver cannot save VM state", v.VMM)
	}
	if s.im, err = m.store.GetImage(ctx, v.Image); err != nil {
		return nil, err
	}
	if s.k, err = m.store.GetKernel(ctx, v.Kernel); err != nil {
		return nil, err
	}
	s.spec, err = s.machine(m.layout, m.net)
	return s, err
}

// machine is the machine the VM's VMM was started as; a VM booted by a
// daemon that kept no record is the one its store entry describes.
func (s *snapshotSave) machine(lay *layout, nets *netAttach) (vmm.Spec, error) {
	v := s.v
	if b, err := os.ReadFile(filepath.Join(lay.vmRunDir(v), machineFile)); err == nil {
		var spec vmm.Spec
		if err := json.Unmarshal(b, &spec); err == nil {
			return spec, nil
		}
	}
	ipArg, err := nets.kernelIPArg(v)
	if err != nil {
		return vmm.Spec{}, err
	}
	return lay.vmSpec(v, s.k, lay.rootOf(v, s.im), ipArg)
}

// steps are the saving of a snapshot. From saving the state to resuming,
// the guest is paused; a failure resumes it.
func (s *snapshotSave) steps() []step {
	return []step{
		{
			name: "making the snapshot's directory",
			do: func(context.Context) error {
				os.RemoveAll(s.tmp)
				return os.MkdirAll(s.tmp, 0o700)
			},
			undo: func(context.Context) { os.RemoveAll(s.tmp) },
		},
		{name: "flushing the guest's disks", say: says("flushing the guest's disks"), do: s.flush},
		{
			name: "saving memory and device state",
			say:  says("saving memory and device state (the VM is paused)"),
			do:   s.save,
			undo: func(ctx context.Context) { s.resume(ctx) },
		},
		{name: "copying disks", say: says("copying disks"), do: s.copyDisks},
		{name: "resuming the guest", do: s.resume},
		{name: "recording the snapshot", do: s.record},
		{name: "naming the snapshot", do: func(context.Context) error { return os.Rename(s.tmp, s.dir) }},
	}
}

// flush has the guest agent write out what the guest holds in memory for
// its disks.
func (s *snapshotSave) flush(ctx context.Context) error {
	name := s.v.Name
	mux, err := s.m.Agent(ctx, name)
	if err != nil {
		return fmt.Errorf("reaching VM %s's agent: %w", name, err)
	}
	pctx, cancel := context.WithTimeout(ctx, prepareSnapshotWait)
	err = mux.PrepareSnapshot(pctx)
	cancel()
	if errdefs.KindOf(err) == errdefs.KindFailedPrecondition {
		return errdefs.FailedPrecondition("VM %s runs a guest agent from before snapshots (%v): restart it with `banger vm restart %s` and snapshot it again", name, err, name)
	} else if err != nil {
		return fmt.Errorf("preparing VM %s for a snapshot: %w", name, err)
	}
	return nil
}

// save pauses the guest and writes its memory and device state.
func (s *snapshotSave) save(ctx context.Context) error {
	s.paused = time.Now()
	if err := s.snap.SaveState(ctx, s.spec, s.statePath()); err != nil {
		s.resume(ctx)
		return err
	}
	return nil
}

// statePath is where save writes the guest's state: in the partial
// snapshot, or where a suspend keeps it.
func (s *snapshotSave) statePath() string {
	if s.state != "" {
		return s.state
	}
	return filepath.Join(s.tmp, snapshotState)
}

// resume lets the guest run on, once.
func (s *snapshotSave) resume(ctx context.Context) error {
	if s.resumed {
		return nil
	}
	s.resumed = true
	err := s.snap.Resume(context.WithoutCancel(ctx), s.spec)
	s.m.log.Info("VM paused for a snapshot", "vm", s.v.Name, "snapshot", s.name, "paused", time.Since(s.paused).Round(time.Millisecond), "err", err)
	return err
}

// copyDisks copies the machine's writable disks; the image is shared and
// never written.
func (s *snapshotSave) copyDisks(ctx context.Context) error {
	for _, d := range s.spec.Disks {
		if d.ReadOnly {
			continue
		}
		base := filepath.Base(d.Path)
		if slices.Contains(s.disks, base) || base == snapshotState || base == snapshotMeta {
			return fmt.Errorf("VM %s has two disks named %s", s.v.Name, base)
		}
		if err := vmdisk.CopyDisk(ctx, d.Path, filepath.Join(s.tmp, base)); err != nil {
			return fmt.Errorf("copying disk %s: %w", d.ID, err)
		}
		s.disks = append(s.disks, base)
	}
	return nil
}

// record writes snapshot.json, which a restore reads.
func (s *snapshotSave) record(context.Context) error {
	v := s.v
	s.info = SnapshotInfo{
		Format: snapshotFormat,
		Name:   s.name, VM: v.Name, Image: v.Image, Kernel: v.Kernel,
		VCPU: v.VCPU, MemoryMiB: v.MemoryMiB, DiskBytes: v.DiskBytes, VMM: v.VMM, Accel: v.Accel,
		Bytes: diskUsage(s.tmp), CreatedAt: time.Now().UTC(),
		AccelKey: accelFor(s.drv), RootMode: v.RootMode, Files: filesKey(s.im, s.k),
		Machine: s.spec, Disks: s.disks,
	}
	b, _ := json.MarshalIndent(s.info, "", "  ")
	return atomicfile.WriteFile(filepath.Join(s.tmp, snapshotMeta), b, 0o600)
}
