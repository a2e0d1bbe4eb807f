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
	// A shared memory file already holds the RAM: the state leaves it out.
	if err := c.ignoreShared(ctx, spec.MemoryFile != "" && spec.MemoryShared); err != nil {
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
// order); disk files and tap devices may be other ones. With
// spec.MemoryFile the state is a template's, saved without its RAM: the
// file, mapped privately, is the RAM.
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
	spec.MemoryShared = false
	uri := "exec:cat " + shellQuote(path)
	incoming := uri
	if spec.MemoryFile != "" {
		incoming = "defer" // the stream's format is set over QMP first
	}
	a := d.accel()
	exited, pid, err := d.spawn(spec, a, "-incoming", incoming)
	if err != nil {
		return vmm.Info{}, fmt.Errorf("restoring VM %s: %w", spec.Name, err)
	}
	l := &loading{spec: spec, exited: exited}
	if err := l.run(ctx, uri); err != nil {
		select {
		case <-exited:
		default:
			syscall.Kill(pid, syscall.SIGKILL)
		}
		return vmm.Info{}, fmt.Errorf("restoring VM %s: %w", spec.Name, err)
	}
	return vmm.Info{PID: pid, State: vmm.StateRunning, Accelerator: a.Name, ConsoleLog: consolePath(spec)}, nil
}

// loading is a QEMU started with -incoming, loading saved state.
type loading struct {
	spec   vmm.Spec
	exited <-chan struct{}
}

// run waits for the state at uri to be in and lets the guest run. A QEMU
// started with "-incoming defer" is told to ignore shared memory, which
// the saving QEMU left out of the stream, and then where the stream is.
func (l *loading) run(ctx context.Context, uri string) error {
	if _, err := waitQMP(ctx, l.spec, l.exited); err != nil {
		return err
	}
	c, err := dialQMP(ctx, qmpPath(l.spec))
	if err != nil {
		return err
	}
	defer c.Close()
	if l.spec.MemoryFile != "" {
		if err := c.ignoreShared(ctx, true); err != nil {
			return err
		}
		if _, err := c.executeArgs(ctx, "migrate-incoming", map[string]any{"uri": uri}); err != nil {
			return err
		}
	}
	if err := l.waitLoaded(ctx, c); err != nil {
		return err
	}
	if l.spec.MemoryFile != "" {
		// Saves of this VM (a snapshot, a suspend) carry its RAM whole.
		if err := c.ignoreShared(ctx, false); err != nil {
			return err
		}
	}
	_, err = c.execute(ctx, "cont")
	return err
}

// waitLoaded waits for the state to be in: QEMU leaves "inmigrate" for
// "paused" (the guest was paused when saved).
func (l *loading) waitLoaded(ctx context.Context, c *qmpClient) error {
	ctx, cancel := context.WithTimeout(ctx, saveTimeout)
	defer cancel()
	t := time.NewTicker(startPoll)
	defer t.Stop()
	for {
		status, err := c.queryStatus(ctx)
		if err != nil {
			select {
			case <-l.exited:
				return fmt.Errorf("QEMU exited while loading the saved state: %s", logTail(l.spec, 20))
			default:
			}
			return err
		}
		if status == "paused" || status == "postmigrate" || status == "running" {
			return nil
		}
		select {
		case <-l.exited:
			return fmt.Errorf("QEMU exited while loading the saved state: %s", logTail(l.spec, 20))
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// ignoreShared sets QEMU's x-ignore-shared migration capability: with
// it, RAM mapped shared from a file is left out of a saved state (and
// not expected in a loaded one). It must be the same on both ends.
func (c *qmpClient) ignoreShared(ctx context.Context, on bool) error {
	caps := []map[string]any{{"capability": "x-ignore-shared", "state": on}}
	_, err := c.executeArgs(ctx, "migrate-set-capabilities", map[string]any{"capabilities": caps})
	return err
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
