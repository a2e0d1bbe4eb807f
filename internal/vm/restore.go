package vm

import (
	"context"
	"errors"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/guestssh"
	"banger/internal/sshkey"
	"banger/internal/vmm"
)

// A restore starts a VM, whose disks are in place, from saved state (a
// warm template's or a snapshot's) instead of booting it, and has the
// agent give the guest the VM's identity. The machine must be the one
// that was saved: its command line and NIC MACs; the taps and disk files
// are the VM's.
type restoreFrom struct {
	machine vmm.Spec // the saved machine
	state   string   // the saved state's file
	// memoryFile is the RAM of a template whose state leaves it out.
	memoryFile string
	// workDevice is mounted at /root by the agent, when set.
	workDevice string
	// unplugged keeps a guest saved with another VM's addresses off the
	// bridge until it has taken this VM's.
	unplugged bool
	// noSSHWait answers without waiting for the guest's sshd, when the
	// agent can run commands: for a caller that runs them through it.
	noSSHWait bool
}

// restoreSteps restore the VM from r, which earlier steps may fill in;
// on failure nothing of the start is left.
func (l *launch) restoreSteps(r *restoreFrom) []step {
	attach := l.attachStep(r.unplugged)
	attach.say = nil
	steps := []step{attach, l.loadStep(r), l.identifyStep(r)}
	if r.unplugged {
		steps = append(steps, step{
			name: "plugging the tap into the bridge",
			do:   func(ctx context.Context) error { return l.m.net.plug(ctx, *l.v) },
		})
	}
	return append(steps, l.runningStep(r))
}

// loadStep has the VMM load the saved state into the VM's machine.
func (l *launch) loadStep(r *restoreFrom) step {
	return step{
		name: "loading the saved state",
		do: func(ctx context.Context) error {
			snap, ok := l.drv.(vmm.Snapshotter)
			if !ok {
				return errors.New("the " + l.v.VMM + " driver cannot restore VM state")
			}
			l.spec.Cmdline = r.machine.Cmdline
			l.spec.MemoryFile = r.memoryFile
			for i := range l.spec.NICs {
				if i < len(r.machine.NICs) {
					l.spec.NICs[i].MAC = r.machine.NICs[i].MAC
				}
			}
			info, err := snap.Restore(ctx, l.spec, r.state)
			if err != nil {
				l.kill(context.WithoutCancel(ctx)) // whatever of it did start
				return err
			}
			l.info, l.v.Accel, l.restored = info, info.Accelerator, time.Now()
			if err := saveMachine(l.spec); err != nil {
				l.kill(context.WithoutCancel(ctx))
				return err
			}
			return nil
		},
		undo: l.kill,
	}
}

// identifyStep gives the restored guest the VM's identity, waits for it
// to be ready under it, and writes its host keys.
func (l *launch) identifyStep(r *restoreFrom) step {
	return step{
		name: "giving the guest its identity",
		do: func(ctx context.Context) error {
			id, err := l.m.net.identity(*l.v, r.workDevice)
			if err != nil {
				return err
			}
			if id.HostKey, err = newHostKey(); err != nil {
				return err
			}
			id.NoSSHWait = r.noSSHWait
			st, err := identify(ctx, l.drv, l.spec, id)
			if err != nil {
				return err
			}
			l.status = st
			l.m.log.Info("restored from saved state", "vm", l.v.Name,
				"network", l.attached.Sub(l.began).Round(time.Millisecond),
				"restore", l.restored.Sub(l.attached).Round(time.Millisecond),
				"identity", time.Since(l.restored).Round(time.Millisecond))
			if len(st.HostKeys) == 0 {
				if st.SSH {
					return errors.New("the restored guest reported no ssh host key")
				}
				return nil // no sshd, so no known_hosts, as after a boot
			}
			return guestssh.WriteKnownHosts(l.m.layout.knownHosts(l.v.Name), l.v.Name, st.HostKeys)
		},
	}
}

// runningStep records the restored VM running, watched, once its sshd
// answers from the host, when it has one. With r.noSSHWait it does not
// wait for sshd when the guest's agent runs commands (the caller runs
// its own through it; the link made to find out is the one it uses).
func (l *launch) runningStep(r *restoreFrom) step {
	return step{
		name: "waiting for the guest's sshd",
		do: func(ctx context.Context) error {
			wait := l.status.SSH && !r.noSSHWait
			if wait {
				if err := waitGuestSSH(ctx, l.m.log, *l.v); err != nil {
					return err
				}
			}
			l.m.watch(*l.v, l.drv, l.spec)
			l.v.State = StateRunning
			if err := l.m.store.UpdateVM(ctx, *l.v); err != nil {
				return err
			}
			if !l.status.SSH || wait {
				return nil
			}
			if _, err := l.m.Agent(ctx, l.v.Name); err != nil {
				l.m.log.Info("the guest agent cannot run commands; waiting for sshd", "vm", l.v.Name, "err", err)
				return waitGuestSSH(ctx, l.m.log, *l.v)
			}
			return nil
		},
	}
}

// newHostKey makes a restored guest's ssh host key: an ed25519 private
// key in OpenSSH PEM form.
func newHostKey() ([]byte, error) {
	priv, _, err := sshkey.New("")
	return priv, err
}

// identify sends the restored guest its identity and waits for it to be
// ready under it.
func identify(ctx context.Context, drv vmm.Driver, spec vmm.Spec, id agentproto.Identity) (agentproto.Status, error) {
	timeout := min(readyTimeout(), restoreReadyTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := agentclient.Dial(ctx, agentEndpoint(drv, spec))
	if err != nil {
		return agentproto.Status{}, err
	}
	defer c.Close()
	id.TimeUnixNano = time.Now().UnixNano()
	return c.Identify(ctx, id, timeout)
}
