package vm

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync"

	"banger/internal/agent/agentproto"
	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/network"
	"banger/internal/store"
)

// netAttach puts VMs on the bridge and takes them off: their addresses,
// taps and rules (see policy.go), and the .vm names bangerd answers for
// them (see dns.go). mu orders address allocation and bridge set-up
// against teardown.
type netAttach struct {
	client network.Client
	store  *store.Store
	cfg    func() *config.Config
	log    *slog.Logger
	mu     sync.Mutex
	dns    vmDNS
	// buildTaps reports whether a template build other than the one with
	// tap except holds a tap, which keeps the bridge up.
	buildTaps func(except string) bool
}

// netConfig is the bridge and subnet from the config.
func (n *netAttach) netConfig() (network.Config, error) { return NetConfig(n.cfg()) }

// attach gives v a free guest address, a MAC and a tap on the bridge,
// creating the bridge when it is the first VM to need it, and records v.
// An unplugged tap stays off the bridge until plug.
func (n *netAttach) attach(ctx context.Context, v *store.VM, unplugged bool) error {
	nc, err := n.netConfig()
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	vms, err := n.store.ListVMs(ctx)
	if err != nil {
		return err
	}
	var used []netip.Addr
	for _, o := range vms {
		if a, err := netip.ParseAddr(o.IP); err == nil && o.Name != v.Name {
			used = append(used, a)
		}
	}
	ip, err := addressFor(nc, *v, used)
	if err != nil {
		return err
	}
	v.IP, v.MAC, v.Tap = ip.String(), network.GuestMAC(ip), network.TapName(v.VID)
	if err := n.store.UpdateVM(ctx, *v); err != nil {
		return err
	}
	if err := n.client.EnsureBridge(ctx, nc); err != nil {
		return err
	}
	ensure := n.client.EnsureTap
	if unplugged {
		ensure = n.client.EnsureUnpluggedTap
	}
	if err := ensure(ctx, nc, v.Tap, os.Getuid()); err != nil {
		return err
	}
	if err := n.applyPolicy(ctx, nc, *v); err != nil {
		return err
	}
	n.syncDNS(ctx)
	return nil
}

// addressFor is v's own address while it is still free in nc (a
// suspended VM's guest keeps the address it was saved with), else a free
// one.
func addressFor(nc network.Config, v store.VM, used []netip.Addr) (netip.Addr, error) {
	if a, err := netip.ParseAddr(v.IP); err == nil && nc.Subnet.Contains(a) && a != nc.Gateway() && !slices.Contains(used, a) {
		return a, nil
	}
	return network.Allocate(nc, used)
}

// plug puts v's tap, attached unplugged, on the bridge.
func (n *netAttach) plug(ctx context.Context, v store.VM) error {
	nc, err := n.netConfig()
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.client.EnsureTap(ctx, nc, v.Tap, os.Getuid())
}

// release frees v's tap and address, and removes the bridge and NAT
// rules when no VM needs them any more.
func (n *netAttach) release(ctx context.Context, v *store.VM) { n.free(ctx, v, false) }

// detach frees v's tap but keeps its address, which its suspended guest
// holds.
func (n *netAttach) detach(ctx context.Context, v *store.VM) { n.free(ctx, v, true) }

func (n *netAttach) free(ctx context.Context, v *store.VM, keepIP bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if v.Tap != "" {
		if err := n.client.DeleteTap(ctx, v.Tap); err != nil {
			n.log.Warn("removing tap", "vm", v.Name, "tap", v.Tap, "err", err)
		}
	}
	if !keepIP {
		v.IP = ""
	}
	v.Tap = ""
	if err := n.store.UpdateVM(ctx, *v); err != nil && errdefs.KindOf(err) != errdefs.KindNotFound {
		n.log.Warn("recording a released address", "vm", v.Name, "err", err)
	}
	n.syncDNS(ctx)
	vms, err := n.store.ListVMs(ctx)
	if err != nil {
		return
	}
	for _, o := range vms {
		if o.Tap != "" && o.Name != v.Name {
			return
		}
	}
	if n.buildTaps("") {
		return
	}
	n.teardownLocked(ctx)
}

// teardown removes the bridge and banger's rules.
func (n *netAttach) teardown(ctx context.Context) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.teardownLocked(ctx)
}

func (n *netAttach) teardownLocked(ctx context.Context) {
	nc, err := n.netConfig()
	if err != nil {
		return
	}
	if err := n.client.Teardown(ctx, nc); err != nil {
		n.log.Warn("removing the bridge", "err", err)
	}
}

// vmTapsInUse reports whether any VM holds a tap (or the store cannot
// say).
func (n *netAttach) vmTapsInUse(ctx context.Context) bool {
	vms, err := n.store.ListVMs(ctx)
	if err != nil {
		return true
	}
	for _, v := range vms {
		if v.Tap != "" {
			return true
		}
	}
	return false
}

// templateTap makes a tap on the bridge for a template guest; release
// removes it, and the bridge too when no VM needs it.
func (n *netAttach) templateTap(ctx context.Context, tap string) (release func(), err error) {
	nc, err := n.netConfig()
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.client.EnsureBridge(ctx, nc); err != nil {
		return nil, err
	}
	if err := n.client.EnsureTap(ctx, nc, tap, os.Getuid()); err != nil {
		return nil, err
	}
	return func() {
		ctx := context.WithoutCancel(ctx)
		n.mu.Lock()
		defer n.mu.Unlock()
		if err := n.client.DeleteTap(ctx, tap); err != nil {
			n.log.Warn("removing a template's tap", "tap", tap, "err", err)
		}
		if !n.vmTapsInUse(ctx) && !n.buildTaps(tap) {
			n.teardownLocked(ctx)
		}
	}, nil
}

// deleteTap removes a tap left by a template build.
func (n *netAttach) deleteTap(ctx context.Context, tap string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.client.DeleteTap(ctx, tap)
}

// kernelIPArg is the kernel's ip= argument that gives v its address, or
// "" when v has none.
func (n *netAttach) kernelIPArg(v store.VM) (string, error) {
	if v.IP == "" {
		return "", nil
	}
	nc, err := n.netConfig()
	if err != nil {
		return "", err
	}
	ip, err := netip.ParseAddr(v.IP)
	if err != nil {
		return "", fmt.Errorf("VM %s has a bad address %q: %w", v.Name, v.IP, err)
	}
	return network.KernelIPArg(ip, nc.Gateway(), nc.Subnet.Bits(), v.Name, n.guestResolvers(nc.Gateway())), nil
}

// identity is what a guest restored from saved state is told to become:
// v, on the network as v's address has it, with workDevice at /root.
func (n *netAttach) identity(v store.VM, workDevice string) (agentproto.Identity, error) {
	nc, err := n.netConfig()
	if err != nil {
		return agentproto.Identity{}, err
	}
	ip, err := netip.ParseAddr(v.IP)
	if err != nil {
		return agentproto.Identity{}, fmt.Errorf("VM %s has a bad address %q", v.Name, v.IP)
	}
	entropy := make([]byte, 64)
	if _, err := rand.Read(entropy); err != nil {
		return agentproto.Identity{}, err
	}
	var dns []string
	for _, a := range n.guestResolvers(nc.Gateway()) {
		dns = append(dns, a.String())
	}
	return agentproto.Identity{
		Hostname: v.Name, MAC: v.MAC,
		Address: netip.PrefixFrom(ip, nc.Subnet.Bits()).String(), Gateway: nc.Gateway().String(), DNS: dns,
		Entropy: entropy, WorkDevice: workDevice,
	}, nil
}
