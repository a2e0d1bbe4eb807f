package qemu

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"banger/internal/vmm"
)

// saveTimeout bounds writing a guest's state; it is about as much data as
// the guest has memory in use, written to a local file.
const saveTimeout = 5 * time.Minute

// SaveState pauses the guest and writes its memory and device state to
// path, by QEMU's migration to a file. The guest stays paused: the caller
// kills QEMU once its disks are copied, or resumes it. QEMU 7.2 has no
// file: migration target, so the stream goes through `cat`.
func (d *Driver) SaveState(ctx context.Context, spec vmm.Spec, path string) error {
	ctx, cancel := context.WithTimeout(ctx, saveTimeout)
	defer cancel()
	c, err := dialQMP(ctx, qmpPath(spec))
	if err != nil {
		return fmt.Errorf("saving VM %s: %w", spec.Name, err)
	}
	defer c.Close()
	if _, err := c.execute(ctx, "stop"); err != nil {
		return fmt.Errorf("saving VM %s: %w", spec.Name, err)
	}
	uri := "exec:cat > " + shellQuote(path)
	if _, err := c.executeArgs(ctx, "migrate", map[string]any{"uri": uri}); err != nil {
		return fmt.Errorf("saving VM %s: %w", spec.Name, err)
	}
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		raw, err := c.execute(ctx, "query-migrate")
		if err != nil {
			return fmt.Errorf("saving VM %s: %w", spec.Name, err)
		}
		var st struct {
			Status    string `json:"status"`
			ErrorDesc string `json:"error-desc"`
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("saving VM %s: query-migrate: %w", spec.Name, err)
		}
		switch st.Status {
		case "completed":
			return nil
		case "failed", "cancelled":
			return fmt.Errorf("saving VM %s: migration %s: %s", spec.Name, st.Status, st.ErrorDesc)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("saving VM %s: %w", spec.Name, ctx.Err())
		case <-t.C:
		}
	}
}

// Restore starts QEMU for spec from the state SaveState wrote to path
// instead of booting the kernel, and resumes the guest. spec must describe
// the same machine (vCPUs, memory, kernel, the same devices in the same
// order); disk files and tap devices may be other ones.
func (d *Driver) Restore(ctx context.Context, spec vmm.Spec, path string) (vmm.Info, error) {
	if err := validate(spec); err != nil {
		return vmm.Info{}, fmt.Errorf("restoring VM %s: %w", spec.Name, err)
	}
	if _, err := os.Stat(path); err != nil {
		return vmm.Info{}, fmt.Errorf("restoring VM %s: saved state: %w", spec.Name, err)
	}
	if _, ok, _ := findProcess(spec); ok {
		return vmm.Info{}, fmt.Errorf("restoring VM %s: a QEMU already runs for %s", spec.Name, spec.RunDir)
	}
	a := d.accel()
	exited, pid, err := d.spawn(spec, a, "-incoming", "exec:cat "+shellQuote(path))
	if err != nil {
		return vmm.Info{}, fmt.Errorf("restoring VM %s: %w", spec.Name, err)
	}
	fail := func(err error) (vmm.Info, error) {
		select {
		case <-exited:
		default:
			syscall.Kill(pid, syscall.SIGKILL)
		}
		return vmm.Info{}, fmt.Errorf("restoring VM %s: %w", spec.Name, err)
	}
	if _, err := waitQMP(ctx, spec, exited); err != nil {
		return fail(err)
	}
	// The state loads in the background; QEMU leaves "inmigrate" for
	// "paused" once it is in (the guest was paused when saved).
	ctx, cancel := context.WithTimeout(ctx, saveTimeout)
	defer cancel()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		status, err := qmpStatus(ctx, qmpPath(spec))
		if err != nil {
			select {
			case <-exited:
				return fail(fmt.Errorf("QEMU exited while loading the saved state: %s", logTail(spec, 20)))
			default:
			}
			return fail(err)
		}
		if status == "paused" || status == "postmigrate" || status == "running" {
			break
		}
		select {
		case <-exited:
			return fail(fmt.Errorf("QEMU exited while loading the saved state: %s", logTail(spec, 20)))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-t.C:
		}
	}
	if _, err := qmpCommand(ctx, qmpPath(spec), "cont"); err != nil {
		return fail(err)
	}
	return vmm.Info{PID: pid, State: vmm.StateRunning, Accelerator: a.Name, ConsoleLog: consolePath(spec)}, nil
}

// Resume runs a guest SaveState paused. QEMU left it in "postmigrate",
// its disks handed over to a migration target that never came; cont takes
// them back. A save still under way (its caller gone, a daemon killed) is
// cancelled first: it would pause the guest again as it completes.
func (d *Driver) Resume(ctx context.Context, spec vmm.Spec) error {
	c, err := dialQMP(ctx, qmpPath(spec))
	if err != nil {
		return fmt.Errorf("resuming VM %s: %w", spec.Name, err)
	}
	defer c.Close()
	if err := c.cancelMigration(ctx); err != nil {
		return fmt.Errorf("resuming VM %s: %w", spec.Name, err)
	}
	if _, err := c.execute(ctx, "cont"); err != nil {
		return fmt.Errorf("resuming VM %s: %w", spec.Name, err)
	}
	return nil
}

// cancelMigration cancels a migration under way and waits for it to end.
func (c *qmpClient) cancelMigration(ctx context.Context) error {
	asked := false
	for {
		raw, err := c.execute(ctx, "query-migrate")
		if err != nil {
			return err
		}
		var st struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("query-migrate: %w", err)
		}
		switch st.Status {
		case "", "none", "completed", "failed", "cancelled":
			return nil
		}
		if !asked {
			if _, err := c.execute(ctx, "migrate_cancel"); err != nil {
				return err
			}
			asked = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// shellQuote quotes s for sh, which runs QEMU's exec: migration commands.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var _ vmm.Snapshotter = (*Driver)(nil)
