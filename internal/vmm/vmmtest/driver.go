// Package vmmtest is a fake vmm.Driver and vmm.Snapshotter for tests of
// the code above the VMM: no QEMU, no root. Each VM it starts is a fake
// guest whose agent, banger's real one, answers on spec.AgentSocket (the
// serial kind of agent endpoint) with options that keep it off the
// machine the test runs on: it reports a hostname of its own, its status
// reads files in a temp dir, and the commands the host runs in it are
// stand-ins (see SetCommand).
package vmmtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"banger/internal/agent/agentproto"
	"banger/internal/vmm"
	"banger/internal/vmm/consolelog"
)

var (
	_ vmm.Driver      = (*Driver)(nil)
	_ vmm.Snapshotter = (*Driver)(nil)
)

// Call is one recorded call of a vmm.Driver or vmm.Snapshotter method.
// Every method is recorded but Name, Wait and State, which callers repeat
// as they please.
type Call struct {
	Method string   // "Start", "Restore", "SaveState", ...
	Spec   vmm.Spec // the spec it was given
	Path   string   // the state file of SaveState and Restore
}

// Driver is a fake VMM driver. Its zero value is not usable: call New.
// All its methods are safe for concurrent use.
type Driver struct {
	mu      sync.Mutex
	name    string
	calls   []Call
	fails   map[string]failure
	mode    Guest
	cmds    map[string]Result
	vms     map[string]*vm // by RunDir
	nextPID int
	dirs    []string       // temp dirs to remove on Close
	work    sync.WaitGroup // guest goroutines
}

// vm is one run dir's VM: the current boot, or the last one.
type vm struct {
	spec       vmm.Spec
	state      vmm.State
	changed    chan struct{} // closed, and replaced, at each state change
	guest      *guest        // nil when no agent is served
	pid        int
	hostname   string
	bootID     string
	identities []agentproto.Identity
	execs      [][]string
	clocks     []time.Time // what set-clock set, in order
}

// firstPID is above Linux's highest possible pid (1<<22), so that no
// code that checks or signals a fake VM's pid can reach a real process.
const firstPID = 5_000_000

// New returns a driver named "qemu" whose guests get ready; the test's
// cleanup stops every VM still running and removes the guests' files.
func New(tb testing.TB) *Driver {
	d := &Driver{name: "qemu", fails: map[string]failure{}, cmds: map[string]Result{}, vms: map[string]*vm{}, nextPID: firstPID}
	tb.Cleanup(d.Close)
	return d
}

// Close stops every VM's guest and removes the guests' files. New's
// cleanup calls it; calling it again does nothing more.
func (d *Driver) Close() {
	d.mu.Lock()
	for _, v := range d.vms {
		d.setState(v, vmm.StateStopped)
	}
	dirs := d.dirs
	d.dirs = nil
	d.mu.Unlock()
	d.work.Wait()
	for _, dir := range dirs {
		os.RemoveAll(dir)
	}
}

// Name is "qemu" unless SetName changed it.
func (d *Driver) Name() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.name
}

// Start boots a VM in spec.RunDir: it runs, and its guest behaves as
// SetGuest says. It fails when a VM already runs there, and when the run
// dir does not exist.
func (d *Driver) Start(ctx context.Context, spec vmm.Spec) (vmm.Info, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.record("Start", spec, ""); err != nil {
		return vmm.Info{}, err
	}
	return d.boot(spec, spec.Name, newBootID())
}

// Restore boots a VM from a state file SaveState wrote: its guest has the
// saved guest's hostname until it takes an identity. A file that is not
// SaveState's restores a guest named "template"; a missing one fails.
func (d *Driver) Restore(ctx context.Context, spec vmm.Spec, path string) (vmm.Info, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.record("Restore", spec, path); err != nil {
		return vmm.Info{}, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return vmm.Info{}, fmt.Errorf("restoring VM %s: %w", spec.Name, err)
	}
	saved := savedState{Hostname: "template", BootID: newBootID()}
	_ = json.Unmarshal(b, &saved)
	return d.boot(spec, saved.Hostname, saved.BootID)
}

// Attach reports the VM of spec.RunDir; one it never saw is stopped.
func (d *Driver) Attach(ctx context.Context, spec vmm.Spec) (vmm.Info, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.record("Attach", spec, ""); err != nil {
		return vmm.Info{}, err
	}
	info := vmm.Info{State: vmm.StateStopped, ConsoleLog: consolePath(spec)}
	if v := d.vms[spec.RunDir]; v != nil && v.state != vmm.StateStopped {
		info.PID, info.State, info.Accelerator = v.pid, v.state, "tcg"
	}
	return info, nil
}

// Stop stops the VM at once, whatever grace is.
func (d *Driver) Stop(ctx context.Context, spec vmm.Spec, grace time.Duration) error {
	return d.end("Stop", spec)
}

// Kill stops the VM.
func (d *Driver) Kill(ctx context.Context, spec vmm.Spec) error {
	return d.end("Kill", spec)
}

func (d *Driver) end(method string, spec vmm.Spec) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.record(method, spec, ""); err != nil {
		return err
	}
	if v := d.vms[spec.RunDir]; v != nil {
		d.setState(v, vmm.StateStopped)
	}
	return nil
}

// Wait returns nil once the VM is stopped (at once for a VM it never saw),
// or ctx's error when ctx ends first.
func (d *Driver) Wait(ctx context.Context, spec vmm.Spec) error {
	d.mu.Lock()
	err := d.failure("Wait")
	d.mu.Unlock()
	if err != nil {
		return err
	}
	for {
		d.mu.Lock()
		v := d.vms[spec.RunDir]
		if v == nil || v.state == vmm.StateStopped {
			d.mu.Unlock()
			return nil
		}
		changed := v.changed
		d.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for VM %s: %w", spec.Name, ctx.Err())
		}
	}
}

// State reports the VM of spec.RunDir; one it never saw is stopped.
func (d *Driver) State(ctx context.Context, spec vmm.Spec) (vmm.State, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.failure("State"); err != nil {
		return "", err
	}
	if v := d.vms[spec.RunDir]; v != nil {
		return v.state, nil
	}
	return vmm.StateStopped, nil
}

// savedState is what SaveState writes.
type savedState struct {
	Fake     string `json:"fake"`
	Name     string `json:"name"`
	Hostname string `json:"hostname"`
	BootID   string `json:"boot_id"`
}

// SaveState pauses the VM and writes a small JSON file at path naming its
// guest. The VM must be running or paused.
func (d *Driver) SaveState(ctx context.Context, spec vmm.Spec, path string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.record("SaveState", spec, path); err != nil {
		return err
	}
	v := d.vms[spec.RunDir]
	if v == nil || v.state == vmm.StateStopped {
		return fmt.Errorf("saving VM %s: no VM runs in %s", spec.Name, spec.RunDir)
	}
	d.setState(v, vmm.StatePaused)
	b, _ := json.Marshal(savedState{Fake: "vmmtest", Name: spec.Name, Hostname: v.hostname, BootID: v.bootID})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("saving VM %s: %w", spec.Name, err)
	}
	return nil
}

// Resume lets a paused VM run on.
func (d *Driver) Resume(ctx context.Context, spec vmm.Spec) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.record("Resume", spec, ""); err != nil {
		return err
	}
	v := d.vms[spec.RunDir]
	if v == nil || v.state == vmm.StateStopped {
		return fmt.Errorf("resuming VM %s: no VM runs in %s", spec.Name, spec.RunDir)
	}
	d.setState(v, vmm.StateRunning)
	return nil
}

// record notes a call and returns the failure set for its method, if any.
// d.mu is held.
func (d *Driver) record(method string, spec vmm.Spec, path string) error {
	spec.Disks, spec.NICs = slices.Clone(spec.Disks), slices.Clone(spec.NICs)
	d.calls = append(d.calls, Call{Method: method, Spec: spec, Path: path})
	return d.failure(method)
}

// boot makes a running VM in spec.RunDir. d.mu is held.
func (d *Driver) boot(spec vmm.Spec, hostname, bootID string) (vmm.Info, error) {
	if old := d.vms[spec.RunDir]; old != nil && old.state != vmm.StateStopped {
		return vmm.Info{}, fmt.Errorf("starting VM %s: a VM already runs in %s", spec.Name, spec.RunDir)
	}
	if fi, err := os.Stat(spec.RunDir); err != nil || !fi.IsDir() {
		return vmm.Info{}, fmt.Errorf("starting VM %s: run dir %q is not a directory", spec.Name, spec.RunDir)
	}
	if err := mapMemory(spec); err != nil {
		return vmm.Info{}, fmt.Errorf("starting VM %s: %w", spec.Name, err)
	}
	d.nextPID++
	v := &vm{spec: spec, state: vmm.StateRunning, changed: make(chan struct{}), pid: d.nextPID, hostname: hostname, bootID: bootID}
	appendConsole(spec, fmt.Sprintf("vmmtest: %s booted as %s\n", spec.Name, hostname))
	if err := d.serveGuest(v); err != nil {
		return vmm.Info{}, fmt.Errorf("starting VM %s: %w", spec.Name, err)
	}
	d.vms[spec.RunDir] = v
	if d.mode == GuestCrash {
		appendConsole(spec, "vmmtest: the VMM crashed\n")
		d.setState(v, vmm.StateStopped)
	}
	return vmm.Info{PID: v.pid, State: vmm.StateRunning, Accelerator: "tcg", ConsoleLog: consolePath(spec)}, nil
}

// mapMemory does with spec.MemoryFile what QEMU does: a shared one is
// made, as large as the guest's RAM, where missing; a private one must
// be there.
func mapMemory(spec vmm.Spec) error {
	if spec.MemoryFile == "" {
		return nil
	}
	if !spec.MemoryShared {
		_, err := os.Stat(spec.MemoryFile)
		return err
	}
	f, err := os.OpenFile(spec.MemoryFile, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Truncate(int64(spec.MemoryMiB) << 20)
}

// setState changes v's state and wakes whoever waits on it; a stopped VM's
// guest goes away. d.mu is held.
func (d *Driver) setState(v *vm, st vmm.State) {
	if st == vmm.StateStopped && v.guest != nil {
		v.guest.stop()
		v.guest = nil
	}
	if v.state == st {
		return
	}
	v.state = st
	close(v.changed)
	v.changed = make(chan struct{})
}

func consolePath(spec vmm.Spec) string { return filepath.Join(spec.RunDir, consolelog.Name) }

// appendConsole writes to the VM's console log, best effort: a run dir
// that does not exist has no log.
func appendConsole(spec vmm.Spec, line string) {
	f, err := os.OpenFile(consolePath(spec), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(line)
}
