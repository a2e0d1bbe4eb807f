package e2b

import (
	"context"
	"time"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vm"
)

// ManagerVMs is VMs over banger's VM manager. defaults fills a create
// request the way the CLI does (the default image, [vm_defaults]).
func ManagerVMs(m *vm.Manager, defaults func(context.Context) api.CreateVMRequest) VMs {
	return managerVMs{m: m, defaults: defaults}
}

type managerVMs struct {
	m        *vm.Manager
	defaults func(context.Context) api.CreateVMRequest
}

// expirer and suspender are the manager's VM expiry and suspend.
type expirer interface {
	SetExpiry(ctx context.Context, name string, at time.Time) (store.VM, error)
}

type suspender interface {
	Suspend(ctx context.Context, name string, prog progress.Func) (store.VM, error)
}

// vmOf is a VM record as the E2B API sees it.
func vmOf(v store.VM) VM {
	return VM{
		Name: v.Name, State: v.State, IP: v.IP, VCPU: v.VCPU, MemoryMiB: v.MemoryMiB,
		DiskBytes: v.DiskBytes, Network: v.Network, CreatedAt: v.CreatedAt,
		Labels: v.Labels, ExpiresAt: v.ExpiresAt,
	}
}

// request is the create request of spec.
func (a managerVMs) request(ctx context.Context, spec CreateSpec) api.CreateVMRequest {
	req := api.CreateVMRequest{
		Name: spec.Name, Network: spec.Network, FromSnapshot: spec.FromSnapshot,
		Labels: spec.Labels, ExpiresAt: spec.ExpiresAt,
	}
	if spec.FromSnapshot == "" {
		d := a.defaults(ctx)
		req.Image, req.VCPU, req.MemoryMiB, req.DiskBytes = d.Image, d.VCPU, d.MemoryMiB, d.DiskBytes
		if spec.Image != "" {
			req.Image = spec.Image
		}
	}
	return req
}

func (a managerVMs) Create(ctx context.Context, spec CreateSpec) (VM, error) {
	v, err := a.m.Create(ctx, a.request(ctx, spec), nil)
	return vmOf(v), err
}

func (a managerVMs) Get(ctx context.Context, name string) (VM, error) {
	v, err := a.m.Get(ctx, name)
	return vmOf(v), err
}

func (a managerVMs) List(ctx context.Context) ([]VM, error) {
	vs, err := a.m.List(ctx)
	out := make([]VM, 0, len(vs))
	for _, v := range vs {
		out = append(out, vmOf(v))
	}
	return out, err
}

func (a managerVMs) Delete(ctx context.Context, name string) error {
	return a.m.Delete(ctx, name, true)
}

func (a managerVMs) SetExpiry(ctx context.Context, name string, at time.Time) (VM, error) {
	e, ok := any(a.m).(expirer)
	if !ok {
		return VM{}, errdefs.Unavailable("this bangerd cannot expire VMs")
	}
	v, err := e.SetExpiry(ctx, name, at)
	return vmOf(v), err
}

func (a managerVMs) SetNetwork(ctx context.Context, name, policy string) (VM, error) {
	v, err := a.m.SetNetwork(ctx, name, policy)
	return vmOf(v), err
}

func (a managerVMs) Suspend(ctx context.Context, name string) (VM, error) {
	sp, ok := any(a.m).(suspender)
	if !ok {
		return VM{}, errdefs.Unavailable("this bangerd cannot suspend VMs")
	}
	v, err := sp.Suspend(ctx, name, nil)
	return vmOf(v), err
}

func (a managerVMs) Start(ctx context.Context, name string) (VM, error) {
	v, err := a.m.Start(ctx, name, nil)
	return vmOf(v), err
}

func (a managerVMs) Stop(ctx context.Context, name string) (VM, error) {
	v, err := a.m.Stop(ctx, name)
	return vmOf(v), err
}

// Stats are the VMM's CPU use and the guest's memory and root disk.
func (a managerVMs) Stats(ctx context.Context, name string) (Stats, error) {
	st, err := a.m.Stats(ctx, name)
	if err != nil {
		return Stats{}, err
	}
	out := Stats{CPUPercent: st.VMM.CPUPercent}
	if g := st.Guest; g != nil {
		out.MemUsed, out.MemTotal = g.MemUsed(), g.MemTotal
		if len(g.Filesystems) > 0 {
			out.DiskUsed, out.DiskTotal = g.Filesystems[0].Used, g.Filesystems[0].Total
		}
	}
	return out, nil
}

func (a managerVMs) Snapshot(ctx context.Context, name, snap string) error {
	_, err := a.m.Snapshot(ctx, name, snap, nil)
	return err
}

func (a managerVMs) DeleteSnapshot(snap string) error { return a.m.DeleteSnapshot(snap) }
