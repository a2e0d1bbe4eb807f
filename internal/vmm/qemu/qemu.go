// Package qemu is banger's QEMU driver: it boots VMs on QEMU's microvm
// machine, one detached QEMU process per VM, and controls them through
// QMP. Each VM's RunDir holds qmp.sock, qemu.pid (the source of truth for
// finding the process again), console.log (the serial console) and
// qemu.log (QEMU's own output).
package qemu

import (
	"context"
	"fmt"
	"time"

	"banger/internal/errdefs"
	"banger/internal/vmm"
)

// Driver runs VMs under QEMU. Its zero value works.
type Driver struct {
	Binary string       // "" = qemu-system-x86_64 from PATH
	Accel  func() Accel // nil = DetectAccel
	// VhostVsock reports whether the host has /dev/vhost-vsock; nil checks.
	// Without it the agent's channel is a virtio-serial port.
	VhostVsock func() bool
}

var _ vmm.Driver = (*Driver)(nil)

// quitWait bounds the wait for QEMU to exit after QMP quit, before Stop
// falls back to SIGKILL.
const quitWait = 3 * time.Second

// Name is "qemu".
func (d *Driver) Name() string { return "qemu" }

func (d *Driver) binary() string {
	if d.Binary == "" {
		return "qemu-system-x86_64"
	}
	return d.Binary
}

func (d *Driver) accel() Accel {
	if d.Accel == nil {
		return DetectAccel()
	}
	return d.Accel()
}

// Attach finds the QEMU that an earlier Start left running for spec.
func (d *Driver) Attach(ctx context.Context, spec vmm.Spec) (vmm.Info, error) {
	p, ok, err := findProcess(spec)
	if err != nil {
		return vmm.Info{}, fmt.Errorf("attaching to VM %s: %w", spec.Name, err)
	}
	info := vmm.Info{State: vmm.StateStopped, ConsoleLog: consolePath(spec)}
	if !ok {
		return info, nil
	}
	info.PID, info.Accelerator = p.PID, accelOf(p.Cmdline)
	info.State, err = d.State(ctx, spec)
	if err != nil {
		return vmm.Info{}, fmt.Errorf("attaching to VM %s: %w", spec.Name, err)
	}
	return info, nil
}

// State asks QEMU for the VM's run state; no QEMU process is StateStopped.
// QEMU serves one QMP client at a time, so concurrent callers queue, each
// bounded by its ctx.
func (d *Driver) State(ctx context.Context, spec vmm.Spec) (vmm.State, error) {
	_, ok, err := findProcess(spec)
	if err != nil {
		return "", err
	}
	if !ok {
		return vmm.StateStopped, nil
	}
	status, err := qmpStatus(ctx, qmpPath(spec))
	if err != nil {
		if _, ok, _ := findProcess(spec); !ok {
			return vmm.StateStopped, nil // it exited while we asked
		}
		return "", errdefs.Wrap(errdefs.KindUnavailable, fmt.Errorf("querying VM %s: %w", spec.Name, err))
	}
	return stateOf(status), nil
}

// stateOf maps QMP's RunState to a vmm.State. Every state but "running"
// has the guest's CPUs stopped.
func stateOf(status string) vmm.State {
	if status == "running" {
		return vmm.StateRunning
	}
	return vmm.StatePaused
}

// Stop presses the ACPI power button, waits up to grace for the guest to
// power off, then asks QEMU to quit, then kills it. Stopping a stopped VM
// is not an error. A guest without an ACPI power-button handler (no
// systemd-logind or acpid) ignores the button and costs the whole grace.
func (d *Driver) Stop(ctx context.Context, spec vmm.Spec, grace time.Duration) error {
	p, ok, err := findProcess(spec)
	if err != nil || !ok {
		return err
	}
	if d.gracefully(ctx, spec, p, "system_powerdown", grace) {
		return nil
	}
	if d.gracefully(ctx, spec, p, "quit", quitWait) {
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

// gracefully sends command over QMP and reports whether p exits within
// wait. A failed command still waits: QEMU may close the socket as it quits.
func (d *Driver) gracefully(ctx context.Context, spec vmm.Spec, p vmm.Process, command string, wait time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if _, err := qmpCommand(ctx, qmpPath(spec), command); err != nil && !vmm.Alive(p.PID) {
		return true
	}
	return vmm.WaitGone(ctx, p.PID) == nil
}

// Kill sends SIGKILL to the VM's QEMU, if it runs, and waits for it to go.
func (d *Driver) Kill(ctx context.Context, spec vmm.Spec) error {
	return pidFile(spec).Kill(ctx, spec.Name)
}

// Wait blocks until the VM's QEMU exits or ctx ends.
func (d *Driver) Wait(ctx context.Context, spec vmm.Spec) error {
	return pidFile(spec).Wait(ctx, spec.Name)
}
