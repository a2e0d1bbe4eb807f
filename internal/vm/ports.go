package vm

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/portfwd"
	"banger/internal/store"
)

// portForwards holds the port forwarders of running VMs, by VM name:
// bangerd's userspace proxies from host ports to guest addresses. They
// live as long as the VM runs here, and are made again when it starts
// and when a restarted daemon adopts it.
type portForwards struct {
	mu    sync.Mutex
	m     map[string]*portfwd.Forwarder
	store *store.Store
	log   *slog.Logger
}

func newPortForwards(st *store.Store, log *slog.Logger) *portForwards {
	return &portForwards{m: map[string]*portfwd.Forwarder{}, store: st, log: log}
}

// start forwards v's ports to its guest address, recording the host port
// each holds in Bound; on failure none is held.
func (pf *portForwards) start(v *store.VM) error {
	pf.stop(v)
	if len(v.Ports) == 0 {
		return nil
	}
	if PolicyOf(*v) == "none" {
		return errPortsUnderNone(v.Name)
	}
	f := portfwd.New(v.IP, pf.log.With("vm", v.Name))
	for i, p := range v.Ports {
		sp, err := f.Add(specOf(p))
		if err != nil {
			f.Close()
			pf.unbind(v)
			return errdefs.Wrap(errdefs.KindFailedPrecondition, fmt.Errorf("forwarding guest port %d of VM %s: %w", p.GuestPort, v.Name, err))
		}
		v.Ports[i].Bound = sp.HostPort
	}
	pf.mu.Lock()
	pf.m[v.Name] = f
	pf.mu.Unlock()
	return nil
}

// add forwards p to running VM v, returning it with its bound port.
func (pf *portForwards) add(v store.VM, p store.Port) (store.Port, error) {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	f := pf.m[v.Name]
	if f == nil {
		f = portfwd.New(v.IP, pf.log.With("vm", v.Name))
		pf.m[v.Name] = f
	}
	sp, err := f.Add(specOf(p))
	if err != nil {
		return p, errdefs.Wrap(errdefs.KindFailedPrecondition, err)
	}
	p.Bound = sp.HostPort
	return p, nil
}

// remove stops forwarding p (bound) to v.
func (pf *portForwards) remove(v store.VM, p store.Port) {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	if f := pf.m[v.Name]; f != nil && p.Bound != 0 {
		sp := specOf(p)
		sp.HostPort = p.Bound
		f.Remove(sp)
	}
}

// stop closes v's forwards, if any, and clears their bound ports.
func (pf *portForwards) stop(v *store.VM) {
	pf.mu.Lock()
	f := pf.m[v.Name]
	delete(pf.m, v.Name)
	pf.mu.Unlock()
	if f != nil {
		f.Close()
	}
	pf.unbind(v)
}

func (pf *portForwards) unbind(v *store.VM) {
	for i := range v.Ports {
		v.Ports[i].Bound = 0
	}
}

// closeAll closes every forward, as the daemon exits.
func (pf *portForwards) closeAll() {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	for name, f := range pf.m {
		f.Close()
		delete(pf.m, name)
	}
}

// portsStep forwards the running VM's ports and records the ports bound.
func (pf *portForwards) step(v *store.VM) step {
	s := step{
		name: "forwarding ports",
		do: func(ctx context.Context) error {
			if len(v.Ports) == 0 {
				return nil
			}
			if err := pf.start(v); err != nil {
				return err
			}
			return pf.store.UpdateVM(ctx, *v)
		},
		undo: func(context.Context) { pf.stop(v) },
	}
	if len(v.Ports) > 0 {
		s.say = says("forwarding ports")
	}
	return s
}

// restorePorts forwards an adopted VM's ports again; a port it cannot
// have is reported in the VM's last error, the VM running on.
func (pf *portForwards) restore(ctx context.Context, v *store.VM) {
	if len(v.Ports) == 0 {
		return
	}
	if err := pf.start(v); err != nil {
		pf.log.Warn("forwarding the ports of an adopted VM", "vm", v.Name, "err", err)
		v.LastError = err.Error()
	}
	if err := pf.store.UpdateVM(ctx, *v); err != nil {
		pf.log.Warn("recording an adopted VM's ports", "vm", v.Name, "err", err)
	}
}

// checkCreatePorts checks a create request's ports, refused under
// network policy none.
func checkCreatePorts(req api.CreateVMRequest, policy string) ([]store.Port, error) {
	if len(req.Ports) == 0 {
		return nil, nil
	}
	if policy == "none" {
		return nil, errdefs.FailedPrecondition("a VM with network policy none cannot have ports forwarded: the host cannot reach its guest. Give it another --network, or drop -p")
	}
	return checkPorts(req.Ports, nil)
}

func specOf(p store.Port) portfwd.Spec {
	return portfwd.Spec{HostAddr: p.HostAddr, HostPort: p.HostPort, GuestPort: p.GuestPort, Proto: p.Proto}
}

func errPortsUnderNone(name string) error {
	return errdefs.FailedPrecondition("VM %s has network policy none, so the host cannot reach its guest and no port can be forwarded: give it a network first (`banger vm network %s internet`)", name, name)
}

// checkPorts turns requested forwards into ports to record: checked,
// defaults filled in (127.0.0.1, tcp), none asked twice, none beside
// those of have on the same host port.
func checkPorts(reqs []api.PortForward, have []store.Port) ([]store.Port, error) {
	var out []store.Port
	for _, r := range reqs {
		p := store.Port{HostAddr: r.HostAddr, HostPort: r.HostPort, GuestPort: r.GuestPort, Proto: r.Proto}
		if p.HostAddr == "" {
			p.HostAddr = portfwd.DefaultHostAddr
		}
		if p.Proto == "" {
			p.Proto = portfwd.TCP
		}
		sp := specOf(p)
		if err := sp.Check(); err != nil {
			return nil, errdefs.InvalidArgument("port forward %s: %v", sp, err)
		}
		for _, q := range append(have, out...) {
			if p.HostPort != 0 && specOf(q).Same(sp) {
				return nil, errdefs.AlreadyExists("host port %s/%s is forwarded already: pick another host port", sp.Listen(), p.Proto)
			}
		}
		out = append(out, p)
	}
	return out, nil
}
