package vm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/store"
)

// resume starts suspended VM v from its saved state: the restore steps
// of a warm start or a snapshot, without a new identity, the guest's
// clock set instead. Until the guest runs, a failure leaves v suspended
// as it was; once it runs, its saved state no longer matches its disks
// and is removed, and a later failure leaves it running with the reason.
// The caller holds v's lock.
func (ss suspends) resume(ctx context.Context, v store.VM, prog progress.Func) (store.VM, error) {
	m := ss.m
	im, err := m.store.GetImage(ctx, v.Image)
	if err != nil {
		return v, errNoResume(v.Name, fmt.Errorf("its image %s is gone: %w", v.Image, err))
	}
	k, err := m.store.GetKernel(ctx, v.Kernel)
	if err != nil {
		return v, errNoResume(v.Name, fmt.Errorf("its kernel %s is gone: %w", v.Kernel, err))
	}
	info, err := ss.load(v, im, k)
	if err != nil {
		return v, errNoResume(v.Name, err)
	}
	l, err := m.newLaunch(&v, im, k)
	if err != nil {
		return v, err
	}
	err = runSteps(ctx, m.log, prog, l.resumeSteps(info, prog))
	if err != nil && !errors.Is(err, errKeep) {
		// Undone: no VMM runs and the saved state is whole.
		v.State, v.IP, v.Accel, v.LastError = StateSuspended, info.IP, "", err.Error()
		if uerr := m.store.UpdateVM(context.WithoutCancel(ctx), v); uerr != nil {
			m.log.Warn("recording a VM that could not resume", "vm", v.Name, "err", uerr)
		}
		return v, fmt.Errorf("resuming VM %s (it stays suspended: try again, or `banger vm start --cold %s` boots it afresh): %w", v.Name, v.Name, err)
	}
	return v, err
}

// resumeSteps put the VM back on the bridge under the address its guest
// holds, load its saved state, then wake the guest; from the load on,
// the guest runs and nothing is undone.
func (l *launch) resumeSteps(info suspendInfo, prog progress.Func) []step {
	name := l.v.Name
	attach := l.attachStep(false)
	attach.say = says("resuming " + name)
	attach.undo = func(ctx context.Context) { l.m.net.detach(ctx, l.v) }
	check := step{name: "checking the guest's address", do: func(context.Context) error {
		if l.v.IP != info.IP {
			return fmt.Errorf("its guest holds address %s, which is no longer free or no longer in bridge_subnet", info.IP)
		}
		return nil
	}}
	load := l.loadStep(&restoreFrom{machine: info.Machine, state: l.m.dirs.SuspendState(name)})
	load.say = says("loading memory and device state")
	wake := step{name: "waking the guest", say: says("setting the guest's clock"),
		do: func(ctx context.Context) error { return l.wake(ctx, prog) }}
	return []step{attach, check, load, l.keptRunning(wake), l.keptRunning(l.m.ports.step(l.v))}
}

// wake is the first step after the guest runs again: its VMM watched, its
// saved state removed, its clock set to now, and its readiness waited for.
// An agent too old to set the clock is said on prog, and the guest runs on.
func (l *launch) wake(ctx context.Context, prog progress.Func) error {
	m, v := l.m, l.v
	m.watch(*v, l.drv, l.spec)
	m.suspends.remove(v.Name)
	ctx, cancel := context.WithTimeout(ctx, min(readyTimeout(), restoreReadyTimeout))
	defer cancel()
	c, err := agentclient.Dial(ctx, agentEndpoint(l.drv, l.spec))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetClock(ctx, time.Now()); errdefs.KindOf(err) == errdefs.KindFailedPrecondition {
		m.log.Warn("setting a resumed guest's clock", "vm", v.Name, "err", err)
		prog.Note("clock", err.Error())
	} else if err != nil {
		return fmt.Errorf("setting the guest's clock: %w", err)
	}
	st, err := c.WaitReady(ctx, restoreReadyTimeout)
	if err != nil {
		return err
	}
	if st.SSH {
		if err := waitGuestSSH(ctx, m.log, *v); err != nil {
			return err
		}
	}
	v.State, v.LastError = StateRunning, ""
	return m.store.UpdateVM(ctx, *v)
}

// keptRunning makes s, run once the resumed guest runs, end the resume
// without undoing anything when it fails: the VM is recorded running with
// the reason, for its saved state is gone.
func (l *launch) keptRunning(s step) step {
	do := s.do
	s.do = func(ctx context.Context) error {
		err := do(ctx)
		if err == nil {
			return nil
		}
		v := l.v
		v.State, v.LastError = StateRunning, err.Error()
		if uerr := l.m.store.UpdateVM(context.WithoutCancel(ctx), *v); uerr != nil {
			l.m.log.Warn("recording a resumed VM", "vm", v.Name, "err", uerr)
		}
		return keepDone(errdefs.Unavailable("VM %s resumed and runs, but %s failed: %v. Look with `banger vm logs %s`, or `banger vm restart %s`", v.Name, s.name, err, v.Name, v.Name))
	}
	s.undo = nil
	return s
}
