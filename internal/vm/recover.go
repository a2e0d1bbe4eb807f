package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"banger/internal/atomicfile"
	"banger/internal/guestssh"
	"banger/internal/paths"
	"banger/internal/store"
	"banger/internal/vmm"
)

// Crash recovery. VMMs outlive bangerd, and so does everything a
// killed daemon was in the middle of: a template guest being built, a VM
// paused for a snapshot, a VM being created or started. At start-up,
// before the API is served, bangerd finishes or undoes each of them, so
// that every VM ends running, stopped or gone, and nothing it made is
// left orphaned (see docs/internals.md, "After a crash").

// templateBuildFile, in a template build's run dir, records what the
// build holds on the host, so that a daemon started after a crash can
// undo it.
const templateBuildFile = paths.TemplateBuildName

// templateBuild is what a template build holds: the VMM running its guest
// (found through the run dir's pid file), the tap it is plugged into and
// the template directory it writes.
type templateBuild struct {
	VMM string `json:"vmm"`
	Tap string `json:"tap,omitempty"`
	Dir string `json:"dir"`
}

// recordTemplateBuild writes b into runDir before any of it is made.
func recordTemplateBuild(runDir string, b templateBuild) error {
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(runDir, templateBuildFile), data, 0o600); err != nil {
		return fmt.Errorf("recording the template build: %w", err)
	}
	return nil
}

// builds lists the template builds on record, by run dir.
func (ts *templateStore) builds() map[string]templateBuild {
	out := map[string]templateBuild{}
	entries, _ := os.ReadDir(ts.dirs.TemplateRunBase())
	for _, e := range entries {
		dir := filepath.Join(ts.dirs.TemplateRunBase(), e.Name())
		var b templateBuild
		data, err := os.ReadFile(filepath.Join(dir, templateBuildFile))
		if err == nil && json.Unmarshal(data, &b) == nil {
			out[dir] = b
		} else {
			out[dir] = templateBuild{}
		}
	}
	return out
}

// tapsInUse reports whether a template build other than the one with tap
// except holds a tap, which keeps the bridge up.
func (ts *templateStore) tapsInUse(except string) bool {
	for _, b := range ts.builds() {
		if b.Tap != "" && b.Tap != except {
			return true
		}
	}
	return false
}

// Recover undoes what a killed daemon left half done apart from
// VMs (see Adopt): template builds and snapshots being written.
func (m *Manager) Recover(ctx context.Context) {
	m.templates.sweepBuilds(ctx)
	m.templates.sweepPartial()
	m.snapshots.sweepPartial()
}

// sweepBuilds kills the template guests that builds cut short by a crash
// left running, and removes their taps and run dirs. A build whose VMM
// cannot be killed keeps its record, so the next start tries again.
func (ts *templateStore) sweepBuilds(ctx context.Context) {
	removedTap := false
	for dir, b := range ts.builds() {
		if b.VMM != "" {
			drv, err := ts.layout.driver(b.VMM)
			if err == nil {
				err = drv.Kill(ctx, vmm.Spec{Name: "template-" + filepath.Base(dir), RunDir: dir})
			}
			if err != nil {
				ts.log.Warn("killing the guest of an unfinished template build", "dir", dir, "err", err)
				continue
			}
		}
		if b.Tap != "" {
			if err := ts.net.deleteTap(ctx, b.Tap); err != nil {
				ts.log.Warn("removing the tap of an unfinished template build", "tap", b.Tap, "err", err)
				continue
			}
			removedTap = true
		}
		if err := os.RemoveAll(dir); err != nil {
			ts.log.Warn("removing an unfinished template build's run dir", "dir", dir, "err", err)
		}
		ts.log.Info("undid a template build that bangerd stopped in", "dir", dir, "vmm", b.VMM, "tap", b.Tap)
	}
	if removedTap && !ts.net.vmTapsInUse(ctx) && !ts.tapsInUse("") {
		ts.net.teardown(ctx)
	}
}

// sweepPartial removes template dirs that were never completed: a
// template is complete once its template.json is written, last.
func (ts *templateStore) sweepPartial() {
	entries, _ := os.ReadDir(ts.dirs.TemplatesDir())
	for _, e := range entries {
		dir := filepath.Join(ts.dirs.TemplatesDir(), e.Name())
		if _, ok := loadTemplate(dir); ok {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			ts.log.Warn("removing an unfinished template", "dir", dir, "err", err)
			continue
		}
		ts.log.Info("removed an unfinished template", "dir", dir)
	}
}

// resumePaused lets a VM run on that a killed daemon left paused in the
// middle of a snapshot: nothing else pauses a VM.
func resumePaused(ctx context.Context, log *slog.Logger, v store.VM, drv vmm.Driver, spec vmm.Spec) {
	snap, ok := drv.(vmm.Snapshotter)
	if !ok {
		return
	}
	if err := snap.Resume(ctx, spec); err != nil {
		log.Warn("resuming a VM left paused by an unfinished snapshot", "vm", v.Name, "err", err)
		return
	}
	log.Info("resumed a VM left paused by an unfinished snapshot", "vm", v.Name)
}

// adoptUnfinished settles a VM that a killed daemon was creating or
// starting. Its VMM gone, a VM being created is removed, as a failed
// create is (its disks may be half made, and the caller was told the
// create failed); a VM being started is marked stopped, its disks whole.
// Its VMM alive, the VM is adopted as running once its agent answers
// under the VM's own name (so a guest restored from a template or a
// snapshot has taken its identity) and ssh works; otherwise it is killed
// and then removed or stopped as above. The wait runs in the background,
// holding the VM's lock, so the daemon serves meanwhile.
func (m *Manager) adoptUnfinished(ctx context.Context, v store.VM, drv vmm.Driver) {
	spec := m.layout.runSpec(v)
	switch st, _ := drv.State(ctx, spec); st {
	case vmm.StateStopped:
		m.settleUnfinished(ctx, v, drv, errors.New("its VMM was gone"))
		return
	case vmm.StatePaused:
		// Only a restore cut short leaves a VM being made paused.
		m.settleUnfinished(ctx, v, drv, errors.New("its restore was cut short"))
		return
	}
	// Its tap passes nothing until the VM's rules are in, and the ssh
	// check below goes through them.
	m.net.reapplyPolicy(ctx, v)
	unlock := m.lockVM(v.Name)
	go func() {
		defer unlock()
		if err := m.confirmReady(ctx, v, drv, spec); err != nil {
			if ctx.Err() != nil {
				return // the daemon is stopping: the next start decides
			}
			m.settleUnfinished(ctx, v, drv, err)
			return
		}
		was := v.State
		m.suspends.remove(v.Name) // a resumed guest's, stale once it ran
		v.State, v.LastError = StateRunning, ""
		if err := m.store.UpdateVM(ctx, v); err != nil {
			m.log.Warn("recording an adopted VM", "vm", v.Name, "err", err)
			return
		}
		m.watch(v, drv, spec)
		m.ports.restore(ctx, &v)
		m.log.Info("adopted a VM bangerd stopped while it was "+was, "vm", v.Name)
	}()
}

// confirmReady waits for v's agent to report ready under v's name, puts
// v's tap on the bridge (a restore leaves it unplugged until then) and
// writes the guest's host keys, as a finished create or start would have.
func (m *Manager) confirmReady(ctx context.Context, v store.VM, drv vmm.Driver, spec vmm.Spec) error {
	st, err := waitReady(ctx, drv, spec)
	if err != nil {
		return err
	}
	if st.Hostname != v.Name {
		return fmt.Errorf("its guest is named %q, not %q: it had not taken its identity", st.Hostname, v.Name)
	}
	if v.Tap != "" {
		if err := m.net.plug(ctx, v); err != nil {
			return err
		}
	}
	if st.SSH {
		if err := guestssh.WriteKnownHosts(m.layout.knownHosts(v.Name), v.Name, st.HostKeys); err != nil {
			return err
		}
		if err := waitGuestSSH(ctx, m.log, v); err != nil {
			return err
		}
	}
	return nil
}

// settleUnfinished ends a VM that could not be adopted: its VMM killed,
// then removed when it was being created, else marked stopped.
func (m *Manager) settleUnfinished(ctx context.Context, v store.VM, drv vmm.Driver, why error) {
	if err := drv.Kill(ctx, m.layout.runSpec(v)); err != nil {
		m.log.Warn("killing a VM bangerd stopped while it was "+v.State, "vm", v.Name, "err", err)
		return
	}
	if v.State == StateCreating {
		m.log.Info("removing a VM bangerd stopped while creating it", "vm", v.Name, "why", why)
		if err := m.destroyVM(ctx, v); err != nil {
			m.log.Warn("removing a VM bangerd stopped while creating it", "vm", v.Name, "err", err)
		}
		return
	}
	if m.suspends.has(v.Name) {
		// A resume cut short before its guest ran: its saved state is whole.
		m.suspends.settle(ctx, &v)
		return
	}
	m.log.Info("VM bangerd stopped while starting it is stopped", "vm", v.Name, "why", why)
	m.markStopped(ctx, &v, fmt.Sprintf("bangerd stopped while the VM was starting (%v): start it again", why))
}

// unfinishedState is the state a VM is recorded in once its VMM runs: a
// VM being created stays creating until it is ready, so that a daemon
// started after a crash knows to remove it rather than keep it.
func unfinishedState(current string) string {
	if current == StateCreating {
		return StateCreating
	}
	return StateStarting
}
