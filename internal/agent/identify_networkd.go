package agent

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/vishvananda/netlink"
)

// reloadNetworkd has networkd read its files again, which applies the
// new one: networkd reconfigures a link whose .network file changed (a
// reconfigure on top of it would take the address away for a moment).
// It asks over D-Bus, as networkctl does, without starting a networkctl
// process; networkctl when D-Bus fails.
func reloadNetworkd(ctx context.Context) error {
	err := reloadNetworkdBus(ctx)
	if err == nil {
		return nil
	}
	if out, xerr := exec.CommandContext(ctx, "networkctl", "reload").CombinedOutput(); xerr != nil {
		return fmt.Errorf("networkd reload: over D-Bus: %v; networkctl reload: %w: %s", err, xerr, out)
	}
	return nil
}

func reloadNetworkdBus(ctx context.Context) error {
	conn, err := dbus.ConnectSystemBus(dbus.WithContext(ctx))
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Object("org.freedesktop.network1", "/org/freedesktop/network1").
		CallWithContext(ctx, "org.freedesktop.network1.Manager.Reload", 0).Err
}

// waitAddress waits for networkd to have applied networkFile to link,
// addr on it and, with route, the default route.
func waitAddress(ctx context.Context, link netlink.Link, addr netip.Addr, route bool) error {
	state := fmt.Sprintf("/run/systemd/netif/links/%d", link.Attrs().Index)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(state)
		applied := err != nil || networkdApplied(string(b), networkFile) // no state file: no networkd to wait for
		if applied && hasAddr(link, addr) && (!route || hasDefaultRoute(link)) {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("networkd did not apply %s to eth0 (address %s)", networkFile, addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// networkdApplied reports whether networkd's state file of a link says
// it has finished configuring the link with file: until it has read the
// new file, the state is the template's, configured with the image's
// fallback file.
func networkdApplied(state, file string) bool {
	var configured, ours bool
	for _, line := range strings.Split(state, "\n") {
		switch strings.TrimSpace(line) {
		case "ADMIN_STATE=configured":
			configured = true
		case "NETWORK_FILE=" + file:
			ours = true
		}
	}
	return configured && ours
}
