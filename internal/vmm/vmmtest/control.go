package vmmtest

import (
	"fmt"
	"slices"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/vmm"
)

// failure is an error set for a method: every call, or the next one.
type failure struct {
	err  error
	once bool
}

// Fail makes every later call of method return err, until Fail(method,
// nil). method is a Driver method's name ("Start", "Restore", "SaveState",
// "Resume", "Attach", "Stop", "Kill", "Wait", "State"), or a guest's:
// "Identify" (the agent's identify fails with err) or "Exec" (exec and
// session-start requests fail with err). A failing call changes nothing,
// and is still recorded.
func (d *Driver) Fail(method string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		delete(d.fails, method)
		return
	}
	d.fails[method] = failure{err: err}
}

// FailOnce makes the next call of method return err; see Fail.
func (d *Driver) FailOnce(method string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fails[method] = failure{err: err, once: true}
}

// failure returns the error set for method, if any. d.mu is held.
func (d *Driver) failure(method string) error {
	f, ok := d.fails[method]
	if !ok {
		return nil
	}
	if f.once {
		delete(d.fails, method)
	}
	return f.err
}

// SetName sets what Name returns ("qemu" by default). The guests of a
// driver named "firecracker" expect Firecracker's CONNECT handshake on
// their agent socket (agentclient.KindHybridVsock); any other name, the
// serial kind.
func (d *Driver) SetName(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.name = name
}

// SetGuest sets how the guests of VMs booted from now on behave.
func (d *Driver) SetGuest(g Guest) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mode = g
}

// SetCommand sets what a command whose program's base name is name
// writes and returns, in every guest. Without it, echo writes its
// arguments, false exits 1, and any other command writes nothing and
// exits 0. No command the host asks for ever runs.
func (d *Driver) SetCommand(name string, r Result) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cmds[name] = r
}

// SetReady makes the running guest of runDir ready, or not ready. It
// fails for a VM without an agent (GuestSilent, GuestAbsent, stopped).
func (d *Driver) SetReady(runDir string, ready bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.vms[runDir]
	if v == nil || v.guest == nil {
		return fmt.Errorf("no fake guest agent runs in %s", runDir)
	}
	return v.guest.setReady(ready)
}

// Exit makes the VMM of runDir exit on its own, as a crash or a guest
// poweroff would: the VM is stopped and Wait returns. No call is recorded.
func (d *Driver) Exit(runDir string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v := d.vms[runDir]; v != nil {
		appendConsole(v.spec, "vmmtest: the VMM exited\n")
		d.setState(v, vmm.StateStopped)
	}
}

// SetState sets the state of runDir's VM, for tests of adoption: stopped
// ends its guest; running or paused of a VM it never saw makes one with
// no guest agent (AlreadyRunning makes one with an agent). No call is
// recorded.
func (d *Driver) SetState(runDir string, st vmm.State) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.vms[runDir]
	if v == nil {
		d.nextPID++
		v = &vm{spec: vmm.Spec{RunDir: runDir}, state: vmm.StateStopped, changed: make(chan struct{}), pid: d.nextPID}
		d.vms[runDir] = v
	}
	d.setState(v, st)
}

// AlreadyRunning boots a VM in spec.RunDir as an earlier process would
// have: like Start, but no call is recorded and no failure applies. Its
// guest is named spec.Name.
func (d *Driver) AlreadyRunning(spec vmm.Spec) (vmm.Info, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.boot(spec, spec.Name, newBootID())
}

// Calls returns the calls recorded so far, in order.
func (d *Driver) Calls() []Call {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.calls)
}

// Methods returns the names of the calls recorded so far, in order.
func (d *Driver) Methods() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, len(d.calls))
	for i, c := range d.calls {
		out[i] = c.Method
	}
	return out
}

// ResetCalls forgets the calls recorded so far.
func (d *Driver) ResetCalls() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = nil
}

// StateOf is the state of runDir's VM, stopped for one it never saw.
func (d *Driver) StateOf(runDir string) vmm.State {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v := d.vms[runDir]; v != nil {
		return v.state
	}
	return vmm.StateStopped
}

// Hostname is the hostname the guest of runDir's VM (its last boot)
// reports: its spec's Name after Start, the saved guest's after Restore,
// the identity's after an identify.
func (d *Driver) Hostname(runDir string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v := d.vms[runDir]; v != nil {
		return v.hostname
	}
	return ""
}

// Identities are the identities the guest of runDir's VM was asked to
// take in its last boot, failed ones included.
func (d *Driver) Identities(runDir string) []agentproto.Identity {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v := d.vms[runDir]; v != nil {
		return slices.Clone(v.identities)
	}
	return nil
}

// Execs are the commands (argv) the host ran in runDir's VM in its last
// boot, sessions included, in order.
func (d *Driver) Execs(runDir string) [][]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v := d.vms[runDir]; v != nil {
		return slices.Clone(v.execs)
	}
	return nil
}

// Endpoint is where the host reaches the agent of a VM this driver boots
// from now on: at spec.AgentSocket, Firecracker's hybrid vsock kind when
// the driver is named "firecracker", else the serial kind.
func (d *Driver) Endpoint(spec vmm.Spec) agentclient.Endpoint {
	if d.Name() == "firecracker" {
		return agentclient.Endpoint{Kind: agentclient.KindHybridVsock, Path: spec.AgentSocket, Port: agentproto.VsockPort}
	}
	return agentclient.Endpoint{Kind: agentclient.KindSerial, Path: spec.AgentSocket}
}
