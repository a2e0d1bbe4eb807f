package server

import (
	"context"

	"banger/internal/api"
	"banger/internal/progress"
	"banger/internal/vm"
	"banger/internal/web"
)

// WebBackend gives the web UI the calls the API's handlers make, through
// the same interfaces.
func WebBackend(o Options) web.Backend { return webBackend{New(o)} }

type webBackend struct{ s *Server }

var _ web.Backend = webBackend{}

func (b webBackend) ListVMs(ctx context.Context) ([]api.VM, error) {
	vms, err := b.s.vms.List(ctx)
	return convertAll(vms, vmToAPI), err
}

func (b webBackend) GetVM(ctx context.Context, name string) (api.VM, error) {
	v, err := b.s.vms.Get(ctx, name)
	return vmToAPI(v), err
}

func (b webBackend) ListImages(ctx context.Context) ([]api.Image, error) {
	ims, err := b.s.lib.Images(ctx)
	return convertAll(ims, imageToAPI), err
}

func (b webBackend) ListKernels(ctx context.Context) ([]api.Kernel, error) {
	ks, err := b.s.lib.Kernels(ctx)
	return convertAll(ks, kernelToAPI), err
}

// ListSessions answers what GET /v1/sessions?vm=NAME answers: the
// sessions the VM's agent holds, none when the VM is not running or its
// agent predates sessions.
func (b webBackend) ListSessions(ctx context.Context, name string) ([]api.Session, error) {
	v, err := b.s.vms.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if v.State != vm.StateRunning {
		return []api.Session{}, nil
	}
	list, err := b.s.guest.vmSessions(ctx, name)
	if vm.IsOldAgent(err) {
		return []api.Session{}, nil
	}
	return list, err
}

// Defaults fills a create request the way the CLI does: the config's
// default image, and [vm_defaults] over the host's share.
func (b webBackend) Defaults(ctx context.Context) (api.CreateVMRequest, error) {
	b.s.daemon.Refresh(ctx)
	return b.s.daemon.Defaults(ctx), nil
}

func (b webBackend) CreateVM(ctx context.Context, req api.CreateVMRequest, prog progress.Func) error {
	b.s.daemon.Refresh(ctx)
	_, err := b.s.vms.Create(ctx, req, prog)
	return err
}

func (b webBackend) StartVM(ctx context.Context, name string, prog progress.Func) error {
	b.s.daemon.Refresh(ctx)
	_, err := b.s.vms.Start(ctx, name, prog)
	return err
}

func (b webBackend) RestartVM(ctx context.Context, name string, prog progress.Func) error {
	b.s.daemon.Refresh(ctx)
	_, err := b.s.vms.Restart(ctx, name, prog)
	return err
}

func (b webBackend) StopVM(ctx context.Context, name string) error {
	_, err := b.s.vms.Stop(ctx, name)
	return err
}

func (b webBackend) DeleteVM(ctx context.Context, name string, force bool) error {
	return b.s.vms.Delete(ctx, name, force)
}

func (b webBackend) ListSnapshots(ctx context.Context) ([]api.Snapshot, error) {
	return convertAll(b.s.snaps.Snapshots(), snapshotToAPI), nil
}

func (b webBackend) Catalog(ctx context.Context) []api.CatalogEntry { return b.s.lib.Catalog(ctx) }

func (b webBackend) PullImage(ctx context.Context, name string, prog progress.Func) error {
	b.s.daemon.Refresh(ctx)
	_, err := b.s.lib.PullImage(ctx, name, prog)
	return err
}

// ConsoleLog is the path of the VM's console log, which may not exist yet.
func (b webBackend) ConsoleLog(ctx context.Context, name string) (string, error) {
	cl, err := b.s.vms.ConsoleLog(ctx, name)
	return cl.Path, err
}

// ConfigWarning brings the config up to date, as each API request does,
// and says whether config.toml is in force.
func (b webBackend) ConfigWarning() string { return b.s.daemon.Refresh(context.Background()) }
