package firecracker

import (
	"context"
	"fmt"
	"os"

	"banger/internal/vmm"
)

// stateSuffix names the device-state file beside the memory file that
// SaveState and Restore are given.
const stateSuffix = ".vmstate"

var _ vmm.Snapshotter = (*Driver)(nil)

// SaveState pauses the guest and writes a full snapshot: its memory to
// path and its device state to path+".vmstate". The guest stays paused.
func (d *Driver) SaveState(ctx context.Context, spec vmm.Spec, path string) error {
	c := NewClient(apiSocketPath(spec))
	if err := c.PatchVM(ctx, VMPaused); err != nil {
		return fmt.Errorf("saving VM %s: pausing: %w", spec.Name, err)
	}
	if err := c.CreateSnapshot(ctx, SnapshotCreate{SnapshotType: "Full", SnapshotPath: path + stateSuffix, MemFilePath: path}); err != nil {
		return fmt.Errorf("saving VM %s: %w", spec.Name, err)
	}
	return nil
}

// Resume runs a guest SaveState paused.
func (d *Driver) Resume(ctx context.Context, spec vmm.Spec) error {
	if err := NewClient(apiSocketPath(spec)).PatchVM(ctx, VMResumed); err != nil {
		return fmt.Errorf("resuming VM %s: %w", spec.Name, err)
	}
	return nil
}

// Restore starts a fresh Firecracker from a snapshot SaveState wrote:
// loaded paused, its NICs moved to spec's taps and its vsock to spec's
// socket, its drives pointed at spec's disk files, then resumed. The
// snapshot opens the drives it was saved with first, so those files must
// still exist; they are not written to.
func (d *Driver) Restore(ctx context.Context, spec vmm.Spec, path string) (vmm.Info, error) {
	if err := validate(spec); err != nil {
		return vmm.Info{}, fmt.Errorf("restoring VM %s: %w", spec.Name, err)
	}
	for _, f := range []string{path, path + stateSuffix} {
		if _, err := os.Stat(f); err != nil {
			return vmm.Info{}, fmt.Errorf("restoring VM %s: saved state: %w", spec.Name, err)
		}
	}
	if _, ok, _ := findProcess(spec); ok {
		return vmm.Info{}, fmt.Errorf("restoring VM %s: a firecracker already runs for %s", spec.Name, spec.RunDir)
	}
	for _, p := range []string{apiSocketPath(spec), spec.AgentSocket} {
		if err := removeStaleSocket(p); err != nil {
			return vmm.Info{}, fmt.Errorf("restoring VM %s: %w", spec.Name, err)
		}
	}
	exited, pid, err := d.spawn(spec)
	if err != nil {
		return vmm.Info{}, fmt.Errorf("restoring VM %s: %w", spec.Name, err)
	}
	if err := load(ctx, spec, path, exited); err != nil {
		abort(pid, exited)
		os.Remove(pidPath(spec))
		return vmm.Info{}, fmt.Errorf("restoring VM %s: %w", spec.Name, err)
	}
	return vmm.Info{PID: pid, State: vmm.StateRunning, Accelerator: "kvm", ConsoleLog: consolePath(spec)}, nil
}

// load drives a fresh Firecracker through a snapshot restore.
func load(ctx context.Context, spec vmm.Spec, path string, exited <-chan struct{}) error {
	c := NewClient(apiSocketPath(spec))
	if err := waitAPI(ctx, c, spec, exited); err != nil {
		return err
	}
	req := SnapshotLoad{
		SnapshotPath:  path + stateSuffix,
		MemBackend:    &MemoryBackend{BackendType: "File", BackendPath: path},
		VsockOverride: &VsockOverride{UDSPath: spec.AgentSocket},
	}
	for _, nic := range spec.NICs {
		req.NetworkOverrides = append(req.NetworkOverrides, NetworkOverride{IfaceID: nic.ID, HostDevName: nic.Tap})
	}
	calls := []func() error{func() error { return c.LoadSnapshot(ctx, req) }}
	for _, disk := range spec.Disks {
		if disk.ReadOnly {
			continue // shared and unchanged: the image itself
		}
		calls = append(calls, func() error { return c.PatchDrive(ctx, PartialDrive{DriveID: disk.ID, PathOnHost: disk.Path}) })
	}
	calls = append(calls, func() error { return c.PatchVM(ctx, VMResumed) })
	for _, call := range calls {
		if err := call(); err != nil {
			select {
			case <-exited:
				return fmt.Errorf("%w; firecracker exited: %s", err, vmm.LogTail(logPath(spec), 20))
			default:
				return err
			}
		}
	}
	return nil
}
