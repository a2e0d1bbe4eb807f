package vm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmm"
	"banger/internal/vmm/consolelog"
)

const (
	// stopGrace is how long a guest gets to power off before it is killed.
	stopGrace = 30 * time.Second
	// agentShutdownWait bounds asking the guest agent to power off.
	agentShutdownWait = 3 * time.Second
)

// markStopped records that v's VMM is gone and frees what it held.
func (m *Manager) markStopped(ctx context.Context, v *store.VM, reason string) {
	v.State, v.Accel = StateStopped, ""
	m.ports.stop(v)
	if reason != "" {
		v.LastError = reason
	}
	m.net.release(ctx, v)
}

// Start boots a stopped VM again, or resumes a suspended one from its
// saved state (see resume.go).
func (m *Manager) Start(ctx context.Context, name string, prog progress.Func) (store.VM, error) {
	defer m.lockVM(name)()
	v, err := m.store.GetVM(ctx, name)
	if err != nil {
		return v, err
	}
	if v.State == StateSuspended {
		return m.suspends.resume(ctx, v, prog)
	}
	if v.State != StateStopped {
		drv, err := m.layout.driver(v.VMM)
		if err == nil {
			if st, _ := drv.State(ctx, m.layout.runSpec(v)); st != vmm.StateStopped {
				prog.Note("vm", "VM "+name+" is already running")
				return v, nil
			}
		}
	}
	m.suspends.remove(name) // a crash's leftover: stale once the VM boots
	im, err := m.store.GetImage(ctx, v.Image)
	if err != nil {
		return v, errdefs.FailedPrecondition("VM %s cannot start: its image %s is gone (%v)", name, v.Image, err)
	}
	k, err := m.store.GetKernel(ctx, v.Kernel)
	if err != nil {
		return v, errdefs.FailedPrecondition("VM %s cannot start: its kernel %s is gone (%v)", name, v.Kernel, err)
	}
	l, err := m.newLaunch(&v, im, k)
	if err == nil {
		err = runSteps(ctx, m.log, prog, append(l.bootSteps(), m.ports.step(&v)))
	}
	if err != nil && !errors.Is(err, errNotReady) {
		// The boot's steps are undone: its VMM killed, its tap gone.
		m.markStopped(context.WithoutCancel(ctx), &v, err.Error())
	}
	return v, err
}

// Stop powers a VM off, killing it after stopGrace. A suspended VM's
// saved state is discarded: it is stopped, its disks as they were.
func (m *Manager) Stop(ctx context.Context, name string) (store.VM, error) {
	defer m.lockVM(name)()
	v, err := m.store.GetVM(ctx, name)
	if err != nil {
		return v, err
	}
	if v.State == StateSuspended {
		m.suspends.discard(ctx, &v)
		return v, m.store.UpdateVM(ctx, v)
	}
	m.unwatch(v.Name)
	drv, err := m.layout.driver(v.VMM)
	if err != nil {
		return v, err
	}
	spec := m.layout.runSpec(v)
	m.agents.poweroff(ctx, v.Name, drv, spec)
	if err := drv.Stop(ctx, spec, stopGrace); err != nil {
		return v, err
	}
	m.markStopped(ctx, &v, "")
	v.LastError = ""
	return v, m.store.UpdateVM(ctx, v)
}

// askAgentPoweroff asks the guest agent to power the guest off, which
// works the same on every driver and does not depend on the guest
// handling an ACPI button. It is best effort: the driver's Stop that
// follows waits for the VMM to exit and forces it when the guest does not.
func askAgentPoweroff(ctx context.Context, drv vmm.Driver, spec vmm.Spec) {
	ctx, cancel := context.WithTimeout(ctx, agentShutdownWait)
	defer cancel()
	c, err := agentclient.Dial(ctx, agentEndpoint(drv, spec))
	if err != nil {
		return
	}
	defer c.Close()
	_ = c.Shutdown(ctx)
}

// Delete removes VMs; running ones only with force.
func (m *Manager) Delete(ctx context.Context, name string, force bool) error {
	defer m.lockVM(name)()
	v, err := m.store.GetVM(ctx, name)
	if err != nil {
		return err
	}
	if v.State != StateStopped && !force {
		if drv, err := m.layout.driver(v.VMM); err == nil {
			if st, _ := drv.State(ctx, m.layout.runSpec(v)); st != vmm.StateStopped {
				return errdefs.FailedPrecondition("VM %s is running: stop it first (`banger vm stop %s`) or delete it with --force", name, name)
			}
		}
	}
	return m.destroyVM(ctx, v)
}

// destroyVM kills v's VMM if it runs and removes everything it had.
func (m *Manager) destroyVM(ctx context.Context, v store.VM) error {
	m.unwatch(v.Name)
	m.ports.stop(&v)
	if drv, err := m.layout.driver(v.VMM); err == nil {
		if err := drv.Kill(ctx, m.layout.runSpec(v)); err != nil {
			return fmt.Errorf("deleting VM %s: %w", v.Name, err)
		}
	}
	m.net.release(ctx, &v)
	var errs []error
	for _, dir := range []string{m.layout.vmDir(v.Name), m.layout.vmRunDir(v)} {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := m.store.DeleteVM(ctx, v.Name); err != nil && errdefs.KindOf(err) != errdefs.KindNotFound {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// watch keeps v's console log within console_log_max while its VMM runs,
// and marks v stopped as soon as its VMM exits on its own (a guest
// poweroff, a crash, kill -9), unless stop or delete took over first.
func (m *Manager) watch(v store.VM, drv vmm.Driver, spec vmm.Spec) {
	ctx, cancel := context.WithCancel(m.base)
	m.watchers.set(v.Name, cancel)
	go consolelog.Watch(ctx, filepath.Join(spec.RunDir, consolelog.Name), m.layout.consoleLogLimit, m.log.With("vm", v.Name))
	go func() {
		err := drv.Wait(ctx, spec)
		if ctx.Err() != nil || err != nil {
			return
		}
		defer m.lockVM(v.Name)()
		if ctx.Err() != nil {
			return
		}
		cur, err := m.store.GetVM(ctx, v.Name)
		if err != nil || cur.VID != v.VID || cur.State == StateStopped {
			return
		}
		m.log.Info("VM exited", "vm", v.Name)
		m.markStopped(ctx, &cur, "")
		m.unwatch(v.Name)
	}()
}

func (m *Manager) unwatch(name string) { m.watchers.stop(name) }

// Adopt runs at start-up: VMMs outlive the daemon, so VMs whose VMM still
// runs are watched again and the rest are marked stopped, freeing their
// taps and addresses. Then VMs whose expiry passed are deleted, and the
// reaper starts deleting the others as they expire.
func (m *Manager) Adopt(ctx context.Context) {
	vms, err := m.store.ListVMs(ctx)
	if err != nil {
		m.log.Warn("listing VMs to adopt", "err", err)
		return
	}
	for _, v := range vms {
		if v.State == StateStopped || v.State == StateSuspended {
			continue
		}
		drv, err := m.layout.driver(v.VMM)
		if err != nil {
			m.markStopped(ctx, &v, err.Error())
			continue
		}
		if v.State != StateRunning {
			m.adoptUnfinished(ctx, v, drv) // see recover.go
			continue
		}
		spec := m.layout.runSpec(v)
		st, _ := drv.State(ctx, spec)
		if st == vmm.StatePaused {
			resumePaused(ctx, m.log, v, drv, spec)
		}
		if st != vmm.StateStopped {
			m.log.Info("adopted running VM", "vm", v.Name)
			m.suspends.remove(v.Name) // a suspend cut short: the guest runs on
			m.net.reapplyPolicy(ctx, v)
			m.watch(v, drv, spec)
			m.ports.restore(ctx, &v)
			continue
		}
		m.suspends.settle(ctx, &v)
	}
	m.net.mu.Lock()
	m.net.syncDNS(ctx) // names for the VMs that kept running
	m.net.mu.Unlock()
	m.reaper.start(ctx)
}

// consoleTail returns the last n lines of the VM's console log, read
// from its end, at most consoleTailMax bytes.
func consoleTail(spec vmm.Spec, n int) string {
	b, err := consolelog.TailFile(filepath.Join(spec.RunDir, consolelog.Name), n, consoleTailMax)
	if err != nil {
		return "(no console log)"
	}
	return string(b)
}

// consoleTailMax bounds the console a message quotes.
const consoleTailMax = 16 << 10
