package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"banger/internal/atomicfile"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmm"
)

// StateSuspended is a VM whose memory, device state and disks are saved
// in its VM dir and whose VMM is gone; starting it resumes it from there.
// It keeps its address (the guest holds it), its ports and its labels;
// only its tap is freed.
const StateSuspended = "suspended"

// suspendFormat marks suspend.json's layout.
const suspendFormat = "banger-suspend/1"

// suspendInfo is suspend.json: what resuming a suspended VM needs to
// rebuild the machine it was saved from, and to know the host still can.
type suspendInfo struct {
	Format string `json:"format"`
	VID    string `json:"vid"` // the VM it belongs to: a new VM of the same name is another
	VMM    string `json:"vmm"`
	// AccelKey is accelFor at save time (see SnapshotInfo.AccelKey).
	AccelKey string `json:"accel_key"`
	// Files fingerprints the image and kernel files the disks rest on.
	Files   string    `json:"files"`
	IP      string    `json:"ip,omitempty"` // the address the guest holds
	Machine vmm.Spec  `json:"machine"`
	SavedAt time.Time `json:"saved_at"`
}

// suspends suspends VMs and resumes them: their saved state, in each
// VM's own dir, and the steps that write and load it.
type suspends struct{ m *Manager }

// Suspend saves running VM name whole (its memory and device state; its
// disks stay as they are, in place) and stops its VMM. The VM is then
// suspended until Start resumes it, Stop discards the saved state or
// Delete removes it.
func (m *Manager) Suspend(ctx context.Context, name string, prog progress.Func) (store.VM, error) {
	defer m.lockVM(name)()
	s, err := newSave(ctx, m, name)
	if err != nil {
		return store.VM{}, err
	}
	s.state = m.dirs.SuspendState(name)
	if err := runSteps(ctx, m.log, prog, m.suspends.steps(s)); err != nil {
		return s.v, err
	}
	m.log.Info("VM suspended", "vm", name, "bytes", diskUsage(s.state)+diskUsage(s.state+".vmstate"))
	return s.v, nil
}

// steps save the guest's state into its VM dir, then stop its VMM. Until
// the VMM is stopped a failure resumes the guest and removes what was
// saved; from then on the VM is suspended.
func (ss suspends) steps(s *snapshotSave) []step {
	m, v := ss.m, &s.v
	stopped := false // from then on, the saved state is all there is
	return []step{
		{name: "flushing the guest's disks", say: says("flushing the guest's disks"), do: s.flush},
		{
			name: "saving memory and device state",
			say:  says("saving memory and device state"),
			do: func(ctx context.Context) error {
				ss.remove(v.Name)
				return s.save(ctx)
			},
			undo: func(ctx context.Context) {
				if !stopped {
					s.resume(ctx)
					ss.remove(v.Name)
				}
			},
		},
		{name: "recording the saved state", do: func(context.Context) error { return ss.record(s) }},
		{name: "stopping the VMM", say: says("stopping the VMM"), do: func(ctx context.Context) error {
			m.unwatch(v.Name)
			if mux := m.agents.take(v.Name); mux != nil {
				mux.Close()
			}
			if err := s.drv.Kill(ctx, m.layout.runSpec(*v)); err != nil {
				m.watch(*v, s.drv, s.spec) // it runs on, resumed by the undo
				return err
			}
			stopped = true
			return nil
		}},
		{name: "recording the VM suspended", do: func(ctx context.Context) error {
			return ss.mark(context.WithoutCancel(ctx), v)
		}},
	}
}

// record writes suspend.json, last of the saved state.
func (ss suspends) record(s *snapshotSave) error {
	info := suspendInfo{
		Format: suspendFormat, VID: s.v.VID, VMM: s.v.VMM, AccelKey: accelFor(s.drv),
		Files: filesKey(s.im, s.k), IP: s.v.IP, Machine: s.spec, SavedAt: time.Now().UTC(),
	}
	b, _ := json.MarshalIndent(info, "", "  ")
	return atomicfile.WriteFile(ss.m.dirs.SuspendMeta(s.v.Name), b, 0o600)
}

// mark records v suspended, its VMM gone: its tap and port forwards are
// freed, its address kept.
func (ss suspends) mark(ctx context.Context, v *store.VM) error {
	m := ss.m
	v.State, v.Accel, v.LastError = StateSuspended, "", ""
	m.ports.stop(v)
	m.net.detach(ctx, v)
	return m.store.UpdateVM(ctx, *v)
}

// load reads VM v's suspend.json and checks that its state can be
// restored on this host, into v's machine.
func (ss suspends) load(v store.VM, im store.Image, k store.Kernel) (suspendInfo, error) {
	m := ss.m
	var info suspendInfo
	b, err := os.ReadFile(m.dirs.SuspendMeta(v.Name))
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil || info.Format != suspendFormat {
		return info, fmt.Errorf("%s is not a suspend record this bangerd reads", m.dirs.SuspendMeta(v.Name))
	}
	if info.VID != v.VID || info.VMM != v.VMM {
		return info, errors.New("the saved state belongs to another VM of this name")
	}
	if _, err := os.Stat(m.dirs.SuspendState(v.Name)); err != nil {
		return info, err
	}
	drv, err := m.layout.driver(v.VMM)
	if err != nil {
		return info, err
	}
	if _, ok := drv.(vmm.Snapshotter); !ok {
		return info, fmt.Errorf("the %s driver cannot restore VM state", v.VMM)
	}
	if key := accelFor(drv); key != info.AccelKey {
		return info, fmt.Errorf("it was saved on %s and this host now runs VMs on %s", info.AccelKey, key)
	}
	if filesKey(im, k) != info.Files {
		return info, fmt.Errorf("the files of image %s or kernel %s changed since it was saved", v.Image, v.Kernel)
	}
	return info, nil
}

// has reports whether VM name has a complete saved state.
func (ss suspends) has(name string) bool {
	_, err := os.Stat(ss.m.dirs.SuspendMeta(name))
	return err == nil
}

// remove removes VM name's saved state, its record first so that what
// is left is never taken for a complete state.
func (ss suspends) remove(name string) {
	m := ss.m
	os.Remove(m.dirs.SuspendMeta(name))
	paths, _ := filepath.Glob(m.dirs.SuspendState(name) + "*")
	for _, p := range paths {
		if err := os.Remove(p); err != nil {
			m.log.Warn("removing a suspended VM's saved state", "vm", name, "file", p, "err", err)
		}
	}
}

// discard removes suspended VM v's saved state and records it stopped,
// its address freed.
func (ss suspends) discard(ctx context.Context, v *store.VM) {
	ss.remove(v.Name)
	ss.m.markStopped(ctx, v, "")
	v.LastError = ""
	ss.m.log.Info("discarded a suspended VM's saved state", "vm", v.Name)
}

// settle records v, whose VMM is gone, suspended when a suspend saved
// it whole (a crash came before it was recorded, or cut a resume short
// before the guest ran), else stopped.
func (ss suspends) settle(ctx context.Context, v *store.VM) {
	if !ss.has(v.Name) {
		ss.m.log.Info("VM found stopped", "vm", v.Name)
		ss.m.markStopped(ctx, v, "")
		return
	}
	ss.m.log.Info("VM found suspended", "vm", v.Name)
	if err := ss.mark(ctx, v); err != nil {
		ss.m.log.Warn("recording a suspended VM", "vm", v.Name, "err", err)
	}
}

// errNoResume is a suspended VM whose saved state cannot be restored: a
// cold boot from its disks is what is left.
func errNoResume(name string, err error) error {
	return errdefs.FailedPrecondition("VM %s is suspended but its saved state cannot be restored (%v): it stays suspended, its disks intact. `banger vm start --cold %s` boots it afresh from its disks (what ran in its memory is lost)", name, err, name)
}
