// Package firecracker is banger's Firecracker driver: one detached
// firecracker process per VM, configured and controlled through its HTTP
// API on a unix socket. Each VM's RunDir holds firecracker.sock (the API),
// firecracker.pid (written by the driver; the source of truth for finding
// the process again), console.log (the guest's serial console, which is
// Firecracker's stdout) and firecracker.log (Firecracker's own log). The
// guest agent is reached through Firecracker's hybrid vsock at
// Spec.AgentSocket.
package firecracker

import (
	"context"
	"fmt"
	"time"

	"banger/internal/errdefs"
	"banger/internal/vmm"
)

// Driver runs VMs under Firecracker. Its zero value works.
type Driver struct {
	Binary string // "" = firecracker from PATH
}

var _ vmm.Driver = (*Driver)(nil)

// Name is "firecracker".
func (d *Driver) Name() string { return "firecracker" }

func (d *Driver) binary() string {
	if d.Binary == "" {
		return "firecracker"
	}
	return d.Binary
}

// Attach finds the Firecracker that an earlier Start left running for
// spec.
func (d *Driver) Attach(ctx context.Context, spec vmm.Spec) (vmm.Info, error) {
	p, ok, err := findProcess(spec)
	if err != nil {
		return vmm.Info{}, fmt.Errorf("attaching to VM %s: %w", spec.Name, err)
	}
	info := vmm.Info{State: vmm.StateStopped, ConsoleLog: consolePath(spec)}
	if !ok {
		return info, nil
	}
	info.PID, info.Accelerator = p.PID, "kvm"
	info.State, err = d.State(ctx, spec)
	if err != nil {
		return vmm.Info{}, fmt.Errorf("attaching to VM %s: %w", spec.Name, err)
	}
	return info, nil
}

// State asks Firecracker for the instance's state; no Firecracker process
// is StateStopped.
func (d *Driver) State(ctx context.Context, spec vmm.Spec) (vmm.State, error) {
	_, ok, err := findProcess(spec)
	if err != nil {
		return "", err
	}
	if !ok {
		return vmm.StateStopped, nil
	}
	info, err := NewClient(apiSocketPath(spec)).DescribeInstance(ctx)
	if err != nil {
		if _, ok, _ := findProcess(spec); !ok {
			return vmm.StateStopped, nil // it exited while we asked
		}
		return "", errdefs.Wrap(errdefs.KindUnavailable, fmt.Errorf("querying VM %s: %w", spec.Name, err))
	}
	return stateOf(info.State), nil
}

// stateOf maps Firecracker's instance state to a vmm.State. "Not started"
// (configured, never booted: a Start cut short) has no guest CPUs running,
// like "Paused".
func stateOf(s InstanceState) vmm.State {
	if s == InstanceRunning {
		return vmm.StateRunning
	}
	return vmm.StatePaused
}

// Stop presses Ctrl+Alt+Del on the guest's keyboard, waits up to grace for
// Firecracker to exit (a guest booted with reboot=k turns the reboot this
// causes into Firecracker's exit), then kills it. Stopping a stopped VM is
// not an error. A paused guest cannot react and costs the whole grace.
func (d *Driver) Stop(ctx context.Context, spec vmm.Spec, grace time.Duration) error {
	p, ok, err := findProcess(spec)
	if err != nil || !ok {
		return err
	}
	if gracefully(ctx, spec, p, grace) {
		return nil
	}
	if err := ctx.Err(); err != nil { // the caller gave up: no SIGKILL
		return fmt.Errorf("stopping VM %s: %w", spec.Name, err)
	}
	if err := vmm.Kill(ctx, p); err != nil {
		return fmt.Errorf("stopping VM %s: %w", spec.Name, err)
	}
	return nil
}

// gracefully sends Ctrl+Alt+Del and reports whether p exits within wait.
// A failed call still waits: Firecracker may be exiting already.
func gracefully(ctx context.Context, spec vmm.Spec, p vmm.Process, wait time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err := NewClient(apiSocketPath(spec)).Action(ctx, ActionSendCtrlAltDel)
	if err != nil && !vmm.Alive(p.PID) {
		return true
	}
	return vmm.WaitGone(ctx, p.PID) == nil
}

// Kill sends SIGKILL to the VM's Firecracker, if it runs, and waits for it
// to go.
func (d *Driver) Kill(ctx context.Context, spec vmm.Spec) error {
	return pidFile(spec).Kill(ctx, spec.Name)
}

// Wait blocks until the VM's Firecracker exits or ctx ends.
func (d *Driver) Wait(ctx context.Context, spec vmm.Spec) error {
	return pidFile(spec).Wait(ctx, spec.Name)
}
