package vm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
	"banger/internal/guestssh"
	"banger/internal/store"
	"banger/internal/vmm"
)

const (
	// defaultReadyTimeout bounds the wait for a booting guest's agent. A
	// cold boot takes seconds under KVM and under 30 s under emulation.
	defaultReadyTimeout = 150 * time.Second
	// restoreReadyTimeout bounds a restored guest's way to ready: no boot,
	// only its new identity.
	restoreReadyTimeout = 60 * time.Second
)

// readyTimeout is defaultReadyTimeout, or BANGER_READY_TIMEOUT (a Go
// duration) for tests that exercise a guest that never gets ready.
func readyTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("BANGER_READY_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return defaultReadyTimeout
}

// errNotReady marks a VM that runs but whose guest never reported ready.
var errNotReady = errors.New("guest not ready")

type notReadyError struct{ err error }

func (e notReadyError) Error() string { return e.err.Error() }
func (e notReadyError) Unwrap() []error {
	return []error{e.err, errNotReady}
}

// launch is one start of a VM's VMM, booted or restored from saved
// state: what its steps share. The caller holds the VM's lock.
type launch struct {
	m    *Manager
	v    *store.VM
	im   store.Image
	k    store.Kernel
	drv  vmm.Driver
	spec vmm.Spec
	info vmm.Info
	// began, attached and restored time a restore, for the log.
	began, attached, restored time.Time
	status                    agentproto.Status
}

func (m *Manager) newLaunch(v *store.VM, im store.Image, k store.Kernel) (*launch, error) {
	drv, err := m.layout.driver(v.VMM)
	if err != nil {
		return nil, err
	}
	return &launch{m: m, v: v, im: im, k: k, drv: drv}, nil
}

// bootSteps boot a VM whose disks exist: an address and a tap, the VMM,
// then the guest agent, whose host keys become the VM's known_hosts. A
// guest that runs but never gets ready is kept, to be looked at.
func (l *launch) bootSteps() []step {
	return []step{l.attachStep(false), l.startStep(), l.waitStep()}
}

// attachStep puts the VM on the network (its tap unplugged when asked)
// and works out the spec its VMM starts with, its run dir made. It
// records the VM as being made or started (see unfinishedState) with its
// address, before any VMM runs.
func (l *launch) attachStep(unplugged bool) step {
	m, v := l.m, l.v
	return step{
		name: "attaching to the bridge",
		say:  says("attaching to the bridge"),
		do: func(ctx context.Context) error {
			l.began = time.Now()
			v.State, v.LastError = unfinishedState(v.State), ""
			err := m.net.attach(ctx, v, unplugged)
			var ipArg string
			if err == nil {
				ipArg, err = m.net.kernelIPArg(*v)
			}
			if err == nil {
				l.spec, err = m.layout.vmSpec(*v, l.k, m.layout.rootOf(*v, l.im), ipArg)
			}
			if err == nil {
				err = os.MkdirAll(l.spec.RunDir, 0o700)
			}
			if err != nil {
				m.net.release(context.WithoutCancel(ctx), v)
			}
			l.attached = time.Now()
			return err
		},
		undo: func(ctx context.Context) { m.net.release(ctx, v) },
	}
}

// startStep boots the VMM and watches it.
func (l *launch) startStep() step {
	m, v := l.m, l.v
	return step{
		name: "booting on " + v.VMM,
		say:  says("booting on " + v.VMM),
		do: func(ctx context.Context) error {
			info, err := l.drv.Start(ctx, l.spec)
			if err != nil {
				l.kill(context.WithoutCancel(ctx)) // whatever of it did start
				return err
			}
			l.info, v.Accel = info, info.Accelerator
			if err := saveMachine(l.spec); err != nil {
				m.log.Warn("recording the VM's machine; a snapshot of it will assume a cold boot's", "vm", v.Name, "err", err)
			}
			m.watch(*v, l.drv, l.spec)
			return nil
		},
		undo: l.kill,
	}
}

// kill ends the VM's VMM, its watcher first.
func (l *launch) kill(ctx context.Context) {
	l.m.unwatch(l.v.Name)
	if err := l.drv.Kill(ctx, l.spec); err != nil {
		l.m.log.Warn("killing the VMM of a failed start", "vm", l.v.Name, "err", err)
	}
}

// waitStep waits for the guest agent and sshd, and records the VM
// running. A guest that does not get ready is recorded running with the
// reason, and kept.
func (l *launch) waitStep() step {
	m, v := l.m, l.v
	return step{
		name: "waiting for the guest",
		say:  func() string { return fmt.Sprintf("waiting for the guest (%s)", l.info.Accelerator) },
		do: func(ctx context.Context) error {
			if err := l.waitGuest(ctx); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if errors.Is(err, errVMExited) {
					return l.exitedWhileBooting(ctx, err)
				}
				v.State, v.LastError = StateRunning, err.Error()
				_ = m.store.UpdateVM(context.WithoutCancel(ctx), *v)
				return keepDone(notReadyError{errdefs.Unavailable("VM %s is running but its guest did not get ready: %v. It is kept so you can look: `banger vm logs %s`, then `banger vm delete --force %s`", v.Name, err, v.Name, v.Name)})
			}
			v.State = StateRunning
			return m.store.UpdateVM(ctx, *v)
		},
	}
}

// exitedWhileBooting records a VM whose VMM exited before its guest got
// ready as stopped, its network released and the console's end as the
// reason, and keeps it so its console log can be read.
func (l *launch) exitedWhileBooting(ctx context.Context, err error) error {
	ctx = context.WithoutCancel(ctx)
	l.m.unwatch(l.v.Name)
	l.m.markStopped(ctx, l.v, err.Error())
	if uerr := l.m.store.UpdateVM(ctx, *l.v); uerr != nil {
		l.m.log.Warn("recording a VM that stopped while booting", "vm", l.v.Name, "err", uerr)
	}
	name := l.v.Name
	return keepDone(errdefs.Unavailable("VM %s stopped while booting (it is kept: `banger vm logs %s` shows its console; then `banger vm start %s` or `banger vm delete %s`): %v", name, name, name, name, err))
}

// errVMExited marks a wait for the guest that ended because its VMM exited.
var errVMExited = errors.New("the VM exited while booting")

// waitGuest waits for the booting guest's agent to report ready, writes
// its host keys, and waits for its sshd from the host.
func (l *launch) waitGuest(ctx context.Context) error {
	status, err := waitReady(ctx, l.drv, l.spec)
	if err != nil {
		return err
	}
	if len(status.HostKeys) > 0 {
		if err := guestssh.WriteKnownHosts(l.m.layout.knownHosts(l.v.Name), l.v.Name, status.HostKeys); err != nil {
			return err
		}
	} else if status.SSH {
		return errors.New("the guest runs sshd but reported no host keys")
	}
	if status.SSH {
		return waitGuestSSH(ctx, l.m.log, *l.v)
	}
	return nil
}

// waitReady waits for the guest agent to report ready, giving up early
// when the VMM exits.
func waitReady(ctx context.Context, drv vmm.Driver, spec vmm.Spec) (agentproto.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout())
	defer cancel()
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		if drv.Wait(ctx, spec) == nil {
			cancel()
		}
	}()
	st, err := agentclient.WaitReady(ctx, agentEndpoint(drv, spec))
	cancel()
	<-exited
	if err != nil {
		if state, _ := drv.State(context.Background(), spec); state == vmm.StateStopped {
			return st, fmt.Errorf("%w; its console ends with:\n%s", errVMExited, consoleTail(spec, 15))
		}
		return st, err
	}
	return st, nil
}
