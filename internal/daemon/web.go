package daemon

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"banger/internal/config"
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
func (d *process) listenWeb(cfg *config.Config, backend web.Backend) (*webUI, error) {
	addr := cfg.WebListenAddr
	if addr == "" {
		return nil, nil
	}
	if !cfg.WebAllowRemote && !config.IsLoopbackAddr(addr) {
		return nil, fmt.Errorf("web_listen_addr %q is not a loopback address: use 127.0.0.1:PORT, or set web_allow_remote = true", addr)
	}
	opts := web.Options{Backend: backend, Log: d.log, Addr: addr, Guests: d.webGuests}
	if cfg.WebAllowRemote {
		if _, err := token.Ensure(d.dirs.WebToken()); err != nil {
			return nil, err
		}
		opts.TokenFile = d.dirs.WebToken()
	}
	srv, err := web.New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("web UI: %w; pick a free port in web_listen_addr, or remove the key to turn the web UI off", err)
	}
	d.log.Info("web UI listening", "addr", ln.Addr().String(), "remote", cfg.WebAllowRemote)
	if cfg.WebAllowRemote {
		d.log.Info("web UI: browsers on other machines need the access token that `banger web token` prints")
	}
	return &webUI{ln: ln, srv: srv}, nil
}

// webGuests is the guests' network in force, for the web UI to refuse.
func (d *process) webGuests() web.GuestNet {
	cfg := d.cfg.current()
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
