package daemon

import (
	"context"

	"banger/internal/config"
	"banger/internal/e2b"
	"banger/internal/e2b/envd"
)

// e2bOptions are the E2B API's, from the config read at start-up: its
// control plane over the VM manager, its sandbox side (envd) over the
// guest agents.
func (d *process) e2bOptions(cfg *config.Config) e2b.Options {
	return e2b.Options{
		Addr: cfg.E2BListenAddr, AllowRemote: cfg.E2BAllowRemote, KeyFile: d.dirs.E2BKey(), StateDir: d.dirs.E2BSandboxes(),
		VMs: e2b.ManagerVMs(d.vms, d.Defaults), Log: d.log,
		Guests: func() e2b.GuestNet { return e2b.GuestNet(d.webGuests()) },
		Envd:   envd.New(envd.Options{Guests: d.vms, Log: d.log}),
		EnvdContext: func(ctx context.Context, s e2b.EnvdSandbox) context.Context {
			return envd.WithSandbox(ctx, envd.Sandbox{VM: s.VM, Env: s.Env, AccessToken: s.AccessToken})
		},
	}
}
