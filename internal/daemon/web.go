package daemon

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"

	"banger/internal/api"
	"banger/internal/config"
	"banger/internal/progress"
	"banger/internal/web"
	"banger/internal/web/token"
)

// webUI is the web UI's listener and server; nil when web_listen_addr is
// not set.
type webUI struct {
	ln  net.Listener
	srv *web.Server
}

// listenWeb opens the web UI's address when the config sets one. The
// address is read once, at start-up: changing it takes a daemon restart.
// The config parser has already refused a non-loopback address without
// web_allow_remote; this checks again in case the two ever drift.
func (s *server) listenWeb(cfg *config.Config) (*webUI, error) {
	addr := cfg.WebListenAddr
	if addr == "" {
		return nil, nil
	}
	if !cfg.WebAllowRemote && !config.IsLoopbackAddr(addr) {
		return nil, fmt.Errorf("web_listen_addr %q is not a loopback address: use 127.0.0.1:PORT, or set web_allow_remote = true", addr)
	}
	opts := web.Options{Backend: webBackend{s}, Log: s.log, Addr: addr, Guests: s.webGuests}
	if cfg.WebAllowRemote {
		if _, err := token.Ensure(s.dirs.WebToken()); err != nil {
			return nil, err
		}
		opts.TokenFile = s.dirs.WebToken()
	}
	srv, err := web.New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("web UI: %w; pick a free port in web_listen_addr, or remove the key to turn the web UI off", err)
	}
	s.log.Info("web UI listening", "addr", ln.Addr().String(), "remote", cfg.WebAllowRemote)
	if cfg.WebAllowRemote {
		s.log.Info("web UI: browsers on other machines need the access token that `banger web token` prints")
	}
	return &webUI{ln: ln, srv: srv}, nil
}

// webGuests is the guests' network in force, for the web UI to refuse.
func (s *server) webGuests() web.GuestNet {
	cfg := s.config()
	subnet, _ := netip.ParsePrefix(cfg.BridgeSubnet)
	return web.GuestNet{Subnet: subnet.Masked(), Bridge: cfg.BridgeName}
}

// serve runs the web UI until ctx is done; a nil webUI returns at once.
func (u *webUI) serve(ctx context.Context) error {
	if u == nil {
		return nil
	}
	return u.srv.Serve(ctx, u.ln)
}

// webBackend gives the web UI the daemon's internals, the same calls the
// API's handlers make.
type webBackend struct{ s *server }

var _ web.Backend = webBackend{}

func (b webBackend) ListVMs(ctx context.Context) ([]api.VM, error) {
	vms, err := b.s.store.ListVMs(ctx)
	out := make([]api.VM, 0, len(vms))
	for _, v := range vms {
		out = append(out, vmToAPI(v))
	}
	return out, err
}

func (b webBackend) GetVM(ctx context.Context, name string) (api.VM, error) {
	v, err := b.s.store.GetVM(ctx, name)
	return vmToAPI(v), err
}

func (b webBackend) ListImages(ctx context.Context) ([]api.Image, error) {
	ims, err := b.s.store.ListImages(ctx)
	out := make([]api.Image, 0, len(ims))
	for _, im := range ims {
		out = append(out, imageToAPI(im))
	}
	return out, err
}

func (b webBackend) ListKernels(ctx context.Context) ([]api.Kernel, error) {
	ks, err := b.s.store.ListKernels(ctx)
	out := make([]api.Kernel, 0, len(ks))
	for _, k := range ks {
		out = append(out, kernelToAPI(k))
	}
	return out, err
}

// ListSessions answers what GET /v1/sessions?vm=NAME answers: the
// sessions the VM's agent holds, none when the VM is not running or its
// agent predates sessions.
func (b webBackend) ListSessions(ctx context.Context, vm string) ([]api.Session, error) {
	v, err := b.s.store.GetVM(ctx, vm)
	if err != nil {
		return nil, err
	}
	if v.State != stateRunning {
		return []api.Session{}, nil
	}
	list, err := b.s.vmSessions(ctx, vm)
	if isOldAgent(err) {
		return []api.Session{}, nil
	}
	return list, err
}

// Defaults fills a create request the way the CLI does: the config's
// default image, and [vm_defaults] over the host's share.
func (b webBackend) Defaults(ctx context.Context) (api.CreateVMRequest, error) {
	b.s.refreshConfig(ctx)
	cfg := b.s.config()
	d := config.ResolveVMDefaults(cfg.VMDefaults, config.DetectHost())
	return api.CreateVMRequest{Image: cfg.DefaultImageName, VCPU: d.VCPU.V, MemoryMiB: d.MemoryMiB.V, DiskBytes: int64(d.DiskSize.V)}, nil
}

func (b webBackend) CreateVM(ctx context.Context, req api.CreateVMRequest, prog progress.Func) error {
	b.s.refreshConfig(ctx)
	_, err := b.s.createVM(ctx, req, prog)
	return err
}

func (b webBackend) StartVM(ctx context.Context, name string, prog progress.Func) error {
	b.s.refreshConfig(ctx)
	_, err := b.s.startVM(ctx, name, prog)
	return err
}

func (b webBackend) StopVM(ctx context.Context, name string) error {
	_, err := b.s.stopVM(ctx, name)
	return err
}

func (b webBackend) DeleteVM(ctx context.Context, name string, force bool) error {
	return b.s.deleteVM(ctx, name, force)
}

func (b webBackend) ConsoleLog(ctx context.Context, name string) (string, error) {
	v, err := b.s.store.GetVM(ctx, name)
	if err != nil {
		return "", err
	}
	return filepath.Join(b.s.vmRunDir(v), "console.log"), nil
}

// ConfigWarning brings the config up to date, as each API request does,
// and says whether config.toml is in force.
func (b webBackend) ConfigWarning() string {
	b.s.refreshConfig(b.s.base)
	return b.s.cfg.warning()
}
