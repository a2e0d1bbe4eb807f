package vm

import (
	"context"
	"errors"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/guestssh"
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
	return append(steps, l.runningStep())
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

// runningStep waits for the restored guest's sshd, when it has one, and
// records the VM running, watched.
func (l *launch) runningStep() step {
	return step{
		name: "waiting for the guest's sshd",
		do: func(ctx context.Context) error {
			if l.status.SSH {
				if err := waitGuestSSH(ctx, l.m.log, *l.v); err != nil {
					return err
				}
			}
			l.m.watch(*l.v, l.drv, l.spec)
			l.v.State = StateRunning
			return l.m.store.UpdateVM(ctx, *l.v)
		},
	}
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
