package vm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
	tmp := filepath.Join(runDir, templateBuildFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("recording the template build: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(runDir, templateBuildFile)); err != nil {
		return fmt.Errorf("recording the template build: %w", err)
	}
	return nil
}

// templateBuilds lists the template builds on record, by run dir.
func (m *Manager) templateBuilds() map[string]templateBuild {
	out := map[string]templateBuild{}
	entries, _ := os.ReadDir(m.dirs.TemplateRunBase())
	for _, e := range entries {
		dir := filepath.Join(m.dirs.TemplateRunBase(), e.Name())
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

// templateTapsInUse reports whether a template build other than the one
// with tap except holds a tap, which keeps the bridge up.
func (m *Manager) templateTapsInUse(except string) bool {
	for _, b := range m.templateBuilds() {
		if b.Tap != "" && b.Tap != except {
			return true
		}
	}
	return false
}

// Recover undoes what a killed daemon left half done apart from
// VMs (see adopt): template builds and snapshots being written.
func (m *Manager) Recover(ctx context.Context) {
	m.sweepTemplateBuilds(ctx)
	m.sweepPartialTemplates()
	m.sweepPartialSnapshots()
}

// sweepTemplateBuilds kills the template guests that builds cut short by
// a crash left running, and removes their taps and run dirs. A build whose
// VMM cannot be killed keeps its record, so the next start tries again.
func (m *Manager) sweepTemplateBuilds(ctx context.Context) {
	removedTap := false
	for dir, b := range m.templateBuilds() {
		if b.VMM != "" {
			drv, err := m.driver(b.VMM)
			if err == nil {
				err = drv.Kill(ctx, vmm.Spec{Name: "template-" + filepath.Base(dir), RunDir: dir})
			}
			if err != nil {
				m.log.Warn("killing the guest of an unfinished template build", "dir", dir, "err", err)
				continue
			}
		}
		if b.Tap != "" {
			m.netMu.Lock()
			err := m.net.DeleteTap(ctx, b.Tap)
			m.netMu.Unlock()
			if err != nil {
				m.log.Warn("removing the tap of an unfinished template build", "tap", b.Tap, "err", err)
				continue
			}
			removedTap = true
		}
		if err := os.RemoveAll(dir); err != nil {
			m.log.Warn("removing an unfinished template build's run dir", "dir", dir, "err", err)
		}
		m.log.Info("undid a template build that bangerd stopped in", "dir", dir, "vmm", b.VMM, "tap", b.Tap)
	}
	if removedTap && !m.TapsInUse(ctx) && !m.templateTapsInUse("") {
		m.teardownBridge(ctx)
	}
}

// teardownBridge removes the bridge and banger's rules.
func (m *Manager) teardownBridge(ctx context.Context) {
	nc, err := m.netConfig()
	if err != nil {
		return
	}
	m.netMu.Lock()
	defer m.netMu.Unlock()
	if err := m.net.Teardown(ctx, nc); err != nil {
		m.log.Warn("removing the bridge", "err", err)
	}
}

// sweepPartialTemplates removes template dirs that were never completed:
// a template is complete once its template.json is written, last.
func (m *Manager) sweepPartialTemplates() {
	entries, _ := os.ReadDir(m.dirs.TemplatesDir())
	for _, e := range entries {
		dir := filepath.Join(m.dirs.TemplatesDir(), e.Name())
		if _, ok := loadTemplate(dir); ok {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			m.log.Warn("removing an unfinished template", "dir", dir, "err", err)
			continue
		}
		m.log.Info("removed an unfinished template", "dir", dir)
	}
}

// partialSnapshot reports whether name is a snapshot being written (see
// snapshotVM).
func partialSnapshot(name string) bool {
	return strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".partial")
}

// sweepPartialSnapshots removes snapshots that were being written when
// the daemon stopped. The VM they were taken of is resumed by adopt.
func (m *Manager) sweepPartialSnapshots() {
	entries, _ := os.ReadDir(m.dirs.SnapshotsDir())
	for _, e := range entries {
		if !partialSnapshot(e.Name()) {
			continue
		}
		dir := filepath.Join(m.dirs.SnapshotsDir(), e.Name())
		if err := os.RemoveAll(dir); err != nil {
			m.log.Warn("removing an unfinished snapshot", "dir", dir, "err", err)
			continue
		}
		m.log.Info("removed an unfinished snapshot", "dir", dir)
	}
}

// resumePaused lets a VM run on that a killed daemon left paused in the
// middle of a snapshot: nothing else pauses a VM.
func (m *Manager) resumePaused(ctx context.Context, v store.VM, drv vmm.Driver, spec vmm.Spec) {
	snap, ok := drv.(vmm.Snapshotter)
	if !ok {
		return
	}
	if err := snap.Resume(ctx, spec); err != nil {
		m.log.Warn("resuming a VM left paused by an unfinished snapshot", "vm", v.Name, "err", err)
		return
	}
	m.log.Info("resumed a VM left paused by an unfinished snapshot", "vm", v.Name)
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
	spec := m.runSpec(v)
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
	m.reapplyPolicy(ctx, v)
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
		v.State, v.LastError = StateRunning, ""
		if err := m.store.UpdateVM(ctx, v); err != nil {
			m.log.Warn("recording an adopted VM", "vm", v.Name, "err", err)
			return
		}
		m.watch(v, drv, spec)
		m.log.Info("adopted a VM bangerd stopped while it was "+was, "vm", v.Name)
	}()
}

// confirmReady waits for v's agent to report ready under v's name, puts
// v's tap on the bridge (a restore leaves it unplugged until then) and
// writes the guest's host keys, as a finished create or start would have.
func (m *Manager) confirmReady(ctx context.Context, v store.VM, drv vmm.Driver, spec vmm.Spec) error {
	st, err := m.waitReady(ctx, drv, spec)
	if err != nil {
		return err
	}
	if st.Hostname != v.Name {
		return fmt.Errorf("its guest is named %q, not %q: it had not taken its identity", st.Hostname, v.Name)
	}
	if v.Tap != "" {
		if err := m.plugTap(ctx, v); err != nil {
			return err
		}
	}
	if st.SSH {
		if err := guestssh.WriteKnownHosts(m.knownHosts(v.Name), v.Name, st.HostKeys); err != nil {
			return err
		}
		if err := m.waitGuestSSH(ctx, v); err != nil {
			return err
		}
	}
	return nil
}

// settleUnfinished ends a VM that could not be adopted: its VMM killed,
// then removed when it was being created, else marked stopped.
func (m *Manager) settleUnfinished(ctx context.Context, v store.VM, drv vmm.Driver, why error) {
	if err := drv.Kill(ctx, m.runSpec(v)); err != nil {
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
