package daemon

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"banger/internal/config"
	"banger/internal/localpeer"
	"banger/internal/web"
	"banger/internal/web/token"
)

// webUI is the web UI's listener and server; nil when web_listen_addr is
// not set.
type webUI struct {
	ln  net.Listener
	srv *web.Server
}

// webStatus is the web UI's state, for the daemon's info: where it
// listens, or why it is off although the config asks for it.
type webStatus struct {
	addr string
	err  string
}

// startWeb opens the web UI when the config asks for one. A web UI that
// cannot open (a taken port, say) is logged and kept in the daemon's info
// for `banger daemon status` and `banger doctor`, and the daemon serves the
// API without it: the web UI's trouble must not lock the user out of
// banger. It is not retried: the address is read once, at start-up.
func (d *process) startWeb(cfg *config.Config, backend web.Backend) *webUI {
	ui, err := d.listenWeb(cfg, backend)
	if err != nil {
		d.webOff(err)
		return nil
	}
	if ui != nil {
		d.web.Store(&webStatus{addr: ui.ln.Addr().String()})
	}
	return ui
}

// webOff records why the web UI is off, and logs it.
func (d *process) webOff(err error) {
	d.log.Error("web UI is off; the API serves without it", "err", err)
	d.web.Store(&webStatus{err: err.Error()})
}

// webInfo is the web UI's state; zero when it was never configured.
func (d *process) webInfo() webStatus {
	if w := d.web.Load(); w != nil {
		return *w
	}
	return webStatus{}
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
	opts := web.Options{Backend: backend, Log: d.log, Addr: addr, Guests: d.guestNet}
	if cfg.WebAllowRemote {
		if _, err := token.Secret.Ensure(d.dirs.WebToken()); err != nil {
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
		return nil, fmt.Errorf("%w: pick a free port in web_listen_addr (or remove the key to turn the web UI off), then restart bangerd with `banger daemon stop`", err)
	}
	d.log.Info("web UI listening", "addr", ln.Addr().String(), "remote", cfg.WebAllowRemote)
	if cfg.WebAllowRemote {
		d.log.Info("web UI: browsers on other machines need the access token that `banger web token` prints")
	}
	return &webUI{ln: ln, srv: srv}, nil
}

// guestNet is the guests' network in force, for the web UI and the E2B
// API to refuse.
func (d *process) guestNet() localpeer.GuestNet {
	cfg := d.cfg.current()
	subnet, _ := netip.ParsePrefix(cfg.BridgeSubnet)
	return localpeer.GuestNet{Subnet: subnet.Masked(), Bridge: cfg.BridgeName}
}

// serveWeb runs the web UI until ctx is done; a nil webUI returns at once.
// Its failure is recorded, not returned: the API keeps serving.
func (d *process) serveWeb(ctx context.Context, u *webUI) {
	if u == nil {
		return
	}
	if err := u.srv.Serve(ctx, u.ln); err != nil {
		d.webOff(err)
	}
}
