package vm

import (
	"context"
	"fmt"
	"net/netip"

	"banger/internal/config"
	"banger/internal/errdefs"

	"banger/internal/network"
	"banger/internal/store"
)

// A VM's network policy (see network.Policy) is stored with it in its
// canonical form. Its rules are installed whenever the VM gets a tap
// (cold boot, warm and snapshot restores all go through netAttach.attach),
// again when a restarted daemon adopts it, and at once when
// `banger vm network` changes it. For a guest under allow= with domain
// rules, bangerd's DNS opens the addresses it answers for those names
// (exact names, not subdomains) before the guest gets them, and refuses
// every other name outside .vm, so the guest cannot tunnel data out
// through DNS either. A guest under none is refused DNS altogether.

// newVMNetwork resolves a create request's policy: the request's, else
// the config's network_policy, in canonical form.
func newVMNetwork(cfg *config.Config, req string) (string, error) {
	if req == "" {
		req = cfg.NetworkPolicy
	}
	p, err := network.ParsePolicy(req)
	if err != nil {
		return "", err
	}
	return p.String(), nil
}

// PolicyOf is v's policy as the API shows it: canonical, and the
// default for a record that has none.
func PolicyOf(v store.VM) string {
	p, err := network.ParsePolicy(v.Network)
	if err != nil {
		return v.Network
	}
	return p.String()
}

// guestOf is how v's tap is bound to it.
func guestOf(v store.VM) (network.Guest, network.Policy, error) {
	p, err := network.ParsePolicy(v.Network)
	if err != nil {
		return network.Guest{}, p, fmt.Errorf("VM %s has a bad network policy %q: %w", v.Name, v.Network, err)
	}
	ip, err := netip.ParseAddr(v.IP)
	if err != nil {
		return network.Guest{}, p, fmt.Errorf("VM %s has a bad address %q: %w", v.Name, v.IP, err)
	}
	return network.Guest{Tap: v.Tap, MAC: v.MAC, IP: ip}, p, nil
}

// applyPolicy installs v's rules on its tap, which exists, and tells the
// DNS guard. The caller holds n.mu.
func (n *netAttach) applyPolicy(ctx context.Context, nc network.Config, v store.VM) error {
	g, p, err := guestOf(v)
	if err != nil {
		return err
	}
	d := &n.dns
	d.policyMu.Lock()
	defer d.policyMu.Unlock()
	if err := n.client.SetPolicy(ctx, nc, g, p); err != nil {
		return fmt.Errorf("applying network policy %s: %w", p, err)
	}
	d.setGuest(g, p)
	return nil
}

// reapplyPolicy installs a running VM's rules again, for a daemon that
// adopts it after a restart: the rules in the kernel may predate this
// daemon.
func (n *netAttach) reapplyPolicy(ctx context.Context, v store.VM) {
	if v.Tap == "" || v.IP == "" {
		return
	}
	nc, err := n.netConfig()
	if err == nil {
		n.mu.Lock()
		err = n.applyPolicy(ctx, nc, v)
		n.mu.Unlock()
	}
	if err != nil {
		n.log.Warn("re-applying an adopted VM's network policy; change it with `banger vm network` to retry", "vm", v.Name, "err", err)
	}
}

// SetNetwork gives the VM called name another policy: at once when it
// has a tap, at its next start otherwise.
func (m *Manager) SetNetwork(ctx context.Context, name, policy string) (store.VM, error) {
	p, err := network.ParsePolicy(policy)
	if err != nil {
		return store.VM{}, err
	}
	defer m.lockVM(name)()
	v, err := m.store.GetVM(ctx, name)
	if err != nil {
		return v, err
	}
	if p.Mode == network.PolicyNone && len(v.Ports) > 0 {
		return v, errdefs.FailedPrecondition("VM %s forwards host ports, which policy none would cut off: remove them first (`banger vm port-forward %s --rm HOSTPORT`)", name, name)
	}
	return m.net.setPolicy(ctx, v, p)
}

// setPolicy records v's new policy p, and installs its rules first when
// v has a tap; on failure v is left as it was.
func (n *netAttach) setPolicy(ctx context.Context, v store.VM, p network.Policy) (store.VM, error) {
	old := v
	v.Network = p.String()
	running := v.Tap != "" && v.IP != ""
	var nc network.Config
	var err error
	if running {
		if nc, err = n.netConfig(); err != nil {
			return old, err
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if err := n.applyPolicy(ctx, nc, v); err != nil {
			return old, err
		}
	}
	if err := n.store.UpdateVM(ctx, v); err != nil {
		if running {
			if rerr := n.applyPolicy(context.WithoutCancel(ctx), nc, old); rerr != nil {
				n.log.Warn("restoring a VM's network policy", "vm", v.Name, "err", rerr)
			}
		}
		return old, err
	}
	n.log.Info("network policy changed", "vm", v.Name, "from", old.Network, "to", v.Network)
	return v, nil
}
