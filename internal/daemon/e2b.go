package daemon

import (
	"banger/internal/config"
	"banger/internal/e2b"
)

// e2bOptions are the E2B API's, from the config read at start-up: its
// control plane over the VM manager, its sandbox side over the agents.
func (d *process) e2bOptions(cfg *config.Config) e2b.Options {
	return e2b.Options{
		Addr: cfg.E2BListenAddr, AllowRemote: cfg.E2BAllowRemote, KeyFile: d.dirs.E2BKey(), StateDir: d.dirs.E2BSandboxes(),
		VMs: e2b.ManagerVMs(d.vms, d.Defaults), Agents: d.vms, Log: d.log,
		Guests: d.guestNet,
	}
}
