package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"banger/internal/guestssh"
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
const templateBuildFile = "build.json"

// templateBuild is what a template build holds: the VMM running its guest
// (found through the run dir's pid file), the tap it is plugged into and
// the template directory it writes.
type templateBuild struct {
	VMM string `json:"vmm"`
	Tap string `json:"tap,omitempty"`
	Dir string `json:"dir"`
}

func (s *server) templateRunBase() string { return filepath.Join(s.dirs.Runtime, "template") }

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
func (s *server) templateBuilds() map[string]templateBuild {
	out := map[string]templateBuild{}
	entries, _ := os.ReadDir(s.templateRunBase())
	for _, e := range entries {
		dir := filepath.Join(s.templateRunBase(), e.Name())
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
func (s *server) templateTapsInUse(except string) bool {
	for _, b := range s.templateBuilds() {
		if b.Tap != "" && b.Tap != except {
			return true
		}
	}
	return false
}

// recoverAtStart undoes what a killed daemon left half done apart from
// VMs (see adopt): template builds and snapshots being written.
func (s *server) recoverAtStart(ctx context.Context) {
	s.sweepTemplateBuilds(ctx)
	s.sweepPartialTemplates()
	s.sweepPartialSnapshots()
}

// sweepTemplateBuilds kills the template guests that builds cut short by
// a crash left running, and removes their taps and run dirs. A build whose
// VMM cannot be killed keeps its record, so the next start tries again.
func (s *server) sweepTemplateBuilds(ctx context.Context) {
	removedTap := false
	for dir, b := range s.templateBuilds() {
		if b.VMM != "" {
			drv, err := s.driver(b.VMM)
			if err == nil {
				err = drv.Kill(ctx, vmm.Spec{Name: "template-" + filepath.Base(dir), RunDir: dir})
			}
			if err != nil {
				s.log.Warn("killing the guest of an unfinished template build", "dir", dir, "err", err)
				continue
			}
		}
		if b.Tap != "" {
			s.netMu.Lock()
			err := s.net.DeleteTap(ctx, b.Tap)
			s.netMu.Unlock()
			if err != nil {
				s.log.Warn("removing the tap of an unfinished template build", "tap", b.Tap, "err", err)
				continue
			}
			removedTap = true
		}
		if err := os.RemoveAll(dir); err != nil {
			s.log.Warn("removing an unfinished template build's run dir", "dir", dir, "err", err)
		}
		s.log.Info("undid a template build that bangerd stopped in", "dir", dir, "vmm", b.VMM, "tap", b.Tap)
	}
	if removedTap && !s.tapsInUse(ctx) && !s.templateTapsInUse("") {
		s.teardownBridge(ctx)
	}
}

// teardownBridge removes the bridge and banger's rules.
func (s *server) teardownBridge(ctx context.Context) {
	nc, err := s.netConfig()
	if err != nil {
		return
	}
	s.netMu.Lock()
	defer s.netMu.Unlock()
	if err := s.net.Teardown(ctx, nc); err != nil {
		s.log.Warn("removing the bridge", "err", err)
	}
}

// sweepPartialTemplates removes template dirs that were never completed:
// a template is complete once its template.json is written, last.
func (s *server) sweepPartialTemplates() {
	entries, _ := os.ReadDir(s.templatesDir())
	for _, e := range entries {
		dir := filepath.Join(s.templatesDir(), e.Name())
		if _, ok := loadTemplate(dir); ok {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			s.log.Warn("removing an unfinished template", "dir", dir, "err", err)
			continue
		}
		s.log.Info("removed an unfinished template", "dir", dir)
	}
}

// partialSnapshot reports whether name is a snapshot being written (see
// snapshotVM).
func partialSnapshot(name string) bool {
	return strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".partial")
}

// sweepPartialSnapshots removes snapshots that were being written when
// the daemon stopped. The VM they were taken of is resumed by adopt.
func (s *server) sweepPartialSnapshots() {
	entries, _ := os.ReadDir(s.snapshotsDir())
	for _, e := range entries {
		if !partialSnapshot(e.Name()) {
			continue
		}
		dir := filepath.Join(s.snapshotsDir(), e.Name())
		if err := os.RemoveAll(dir); err != nil {
			s.log.Warn("removing an unfinished snapshot", "dir", dir, "err", err)
			continue
		}
		s.log.Info("removed an unfinished snapshot", "dir", dir)
	}
}

// resumePaused lets a VM run on that a killed daemon left paused in the
// middle of a snapshot: nothing else pauses a VM.
func (s *server) resumePaused(ctx context.Context, v store.VM, drv vmm.Driver, spec vmm.Spec) {
	snap, ok := drv.(vmm.Snapshotter)
	if !ok {
		return
	}
	if err := snap.Resume(ctx, spec); err != nil {
		s.log.Warn("resuming a VM left paused by an unfinished snapshot", "vm", v.Name, "err", err)
		return
	}
	s.log.Info("resumed a VM left paused by an unfinished snapshot", "vm", v.Name)
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
func (s *server) adoptUnfinished(ctx context.Context, v store.VM, drv vmm.Driver) {
	spec := s.runSpec(v)
	switch st, _ := drv.State(ctx, spec); st {
	case vmm.StateStopped:
		s.settleUnfinished(ctx, v, drv, errors.New("its VMM was gone"))
		return
	case vmm.StatePaused:
		// Only a restore cut short leaves a VM being made paused.
		s.settleUnfinished(ctx, v, drv, errors.New("its restore was cut short"))
		return
	}
	// Its tap passes nothing until the VM's rules are in, and the ssh
	// check below goes through them.
	s.reapplyPolicy(ctx, v)
	unlock := s.lockVM(v.Name)
	go func() {
		defer unlock()
		if err := s.confirmReady(ctx, v, drv, spec); err != nil {
			if ctx.Err() != nil {
				return // the daemon is stopping: the next start decides
			}
			s.settleUnfinished(ctx, v, drv, err)
			return
		}
		was := v.State
		v.State, v.LastError = stateRunning, ""
		if err := s.store.UpdateVM(ctx, v); err != nil {
			s.log.Warn("recording an adopted VM", "vm", v.Name, "err", err)
			return
		}
		s.watch(v, drv, spec)
		s.log.Info("adopted a VM bangerd stopped while it was "+was, "vm", v.Name)
	}()
}

// confirmReady waits for v's agent to report ready under v's name, puts
// v's tap on the bridge (a restore leaves it unplugged until then) and
// writes the guest's host keys, as a finished create or start would have.
func (s *server) confirmReady(ctx context.Context, v store.VM, drv vmm.Driver, spec vmm.Spec) error {
	st, err := s.waitReady(ctx, drv, spec)
	if err != nil {
		return err
	}
	if st.Hostname != v.Name {
		return fmt.Errorf("its guest is named %q, not %q: it had not taken its identity", st.Hostname, v.Name)
	}
	if v.Tap != "" {
		if err := s.plugTap(ctx, v); err != nil {
			return err
		}
	}
	if st.SSH {
		if err := guestssh.WriteKnownHosts(s.knownHosts(v.Name), v.Name, st.HostKeys); err != nil {
			return err
		}
		if err := s.waitGuestSSH(ctx, v); err != nil {
			return err
		}
	}
	return nil
}

// settleUnfinished ends a VM that could not be adopted: its VMM killed,
// then removed when it was being created, else marked stopped.
func (s *server) settleUnfinished(ctx context.Context, v store.VM, drv vmm.Driver, why error) {
	if err := drv.Kill(ctx, s.runSpec(v)); err != nil {
		s.log.Warn("killing a VM bangerd stopped while it was "+v.State, "vm", v.Name, "err", err)
		return
	}
	if v.State == stateCreating {
		s.log.Info("removing a VM bangerd stopped while creating it", "vm", v.Name, "why", why)
		if err := s.destroyVM(ctx, v); err != nil {
			s.log.Warn("removing a VM bangerd stopped while creating it", "vm", v.Name, "err", err)
		}
		return
	}
	s.log.Info("VM bangerd stopped while starting it is stopped", "vm", v.Name, "why", why)
	s.markStopped(ctx, &v, fmt.Sprintf("bangerd stopped while the VM was starting (%v): start it again", why))
}

// unfinishedState is the state a VM is recorded in once its VMM runs: a
// VM being created stays creating until it is ready, so that a daemon
// started after a crash knows to remove it rather than keep it.
func unfinishedState(current string) string {
	if current == stateCreating {
		return stateCreating
	}
	return stateStarting
}
