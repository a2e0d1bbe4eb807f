package daemon

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"banger/internal/api"
	"banger/internal/api/server"
	"banger/internal/config"
	"banger/internal/e2b"
	"banger/internal/library"
	"banger/internal/network"
	"banger/internal/paths"
	"banger/internal/store"
	"banger/internal/version"
	"banger/internal/vm"
)

// process is the running daemon as the API sees it: its identity, its
// config and its way to stop.
type process struct {
	dirs     paths.Dirs
	cfg      *liveConfig
	store    *store.Store
	log      *slog.Logger
	started  time.Time
	shutdown func()
	vms      *vm.Manager
	lib      *library.Library
	web      atomic.Pointer[webStatus] // nil until the web UI is configured
	e2b      *e2b.Server               // nil while e2b_listen_addr is not set
}

var _ server.Daemon = (*process)(nil)

// wire makes the VM manager and the image library of dirs, each told of
// the other through the small hooks they define.
func wire(ctx context.Context, dirs paths.Dirs, cfg *liveConfig, st *store.Store, log *slog.Logger, shutdown func()) *process {
	d := &process{dirs: dirs, cfg: cfg, store: st, log: log, started: time.Now(), shutdown: shutdown}
	self, _ := os.Executable()
	var vms *vm.Manager
	d.lib = library.New(library.Options{
		Dirs: dirs, Store: st, Config: cfg.current, Log: log,
		Users: func(ctx context.Context, image, kernel string) ([]string, error) {
			return vms.UsersOf(ctx, image, kernel)
		},
		ImageRemoved: func(name string) error { return vms.RemoveTemplates(name) },
	})
	vms = vm.New(vm.Options{
		Dirs: dirs, Store: st, Config: cfg.current, Library: d.lib,
		Network: network.NewClient(self), Log: log, Base: ctx,
	})
	d.vms = vms
	return d
}

// api is the API server over the daemon's parts.
func (d *process) api() server.Options {
	return server.Options{VMs: d.vms, Guests: d.vms, Snapshots: d.vms, Library: d.lib, Daemon: d, Log: d.log, Ports: d.vms.Ports()}
}

// Info describes the daemon.
func (d *process) Info(ctx context.Context) (api.DaemonInfo, error) {
	schema, err := d.store.SchemaVersion(ctx)
	if err != nil {
		return api.DaemonInfo{}, err
	}
	web := d.webInfo()
	e2bAddr, e2bErr := d.e2b.Status()
	return api.DaemonInfo{
		Version: version.Version, PID: os.Getpid(), Socket: d.dirs.Socket(), StartedAt: d.started.UTC(),
		StateDir: d.dirs.State, LogFile: d.dirs.LogFile(), Schema: schema, ConfigWarning: d.cfg.warning(),
		WebAddr: web.addr, WebError: web.err, E2BAddr: e2bAddr, E2BError: e2bErr,
	}, nil
}

// Shutdown stops the daemon.
func (d *process) Shutdown() { d.shutdown() }

// Refresh brings the config up to date and returns its warning.
func (d *process) Refresh(ctx context.Context) string {
	d.cfg.refresh(ctx, d.log, d.vms.TapsInUse)
	return d.cfg.warning()
}

// Defaults fills a create request the way the CLI does: the config's
// default image, and [vm_defaults] over the host's share.
func (d *process) Defaults(context.Context) api.CreateVMRequest {
	cfg := d.cfg.current()
	v := config.ResolveVMDefaults(cfg.VMDefaults, config.DetectHost())
	return api.CreateVMRequest{Image: cfg.DefaultImageName, VCPU: v.VCPU.V, MemoryMiB: v.MemoryMiB.V, DiskBytes: int64(v.DiskSize.V)}
}
