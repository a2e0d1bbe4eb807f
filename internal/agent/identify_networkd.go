package agent

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"

	"banger/internal/agent/agentproto"
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
	return busObject(ctx, "org.freedesktop.network1", "/org/freedesktop/network1", "org.freedesktop.network1.Manager.Reload")
}

// waitAddress waits for networkd to have applied networkFile to link,
// addr on it and, with route, the default route.
func waitAddress(ctx context.Context, link netlink.Link, addr netip.Addr, route bool) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		state := linkState(link)
		applied := state == "" || configuredFile(state) == networkFile // no state file: no networkd to wait for
		if applied && hasAddr(link, addr) && (!route || hasDefaultRoute(link)) {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("networkd did not apply %s to eth0 (address %s)", networkFile, addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// linkState is networkd's state file of link, "" when there is none.
func linkState(link netlink.Link) string {
	b, err := os.ReadFile(fmt.Sprintf("/run/systemd/netif/links/%d", link.Attrs().Index))
	if err != nil {
		return ""
	}
	return string(b)
}

// networkdManages reports whether networkd runs and manages link.
func networkdManages(link netlink.Link) bool {
	return managedIn(linkState(link))
}

// managedIn reports whether a link state file says networkd manages the
// link: an unmanaged link's says so, and no file means no networkd.
func managedIn(state string) bool {
	return state != "" && !strings.Contains(state, "\nADMIN_STATE=unmanaged\n")
}

// configuredFile is the .network file a link's state file says networkd
// configured the link with, once it has finished; "" otherwise. Until
// networkd has read a clone's new file, the state is the template's,
// configured with the image's fallback file.
func configuredFile(state string) string {
	var configured bool
	var file string
	for _, line := range strings.Split(state, "\n") {
		line = strings.TrimSpace(line)
		if line == "ADMIN_STATE=configured" {
			configured = true
		}
		if f, ok := strings.CutPrefix(line, "NETWORK_FILE="); ok {
			file = f
		}
	}
	if !configured {
		return ""
	}
	return file
}

// sameResolution reports whether the .network file at path gives the
// gateway and DNS servers id has, so that applying id's file would change
// only the address, which is set already. Any doubt (no file, one that
// cannot be read) is a no.
func sameResolution(path string, id agentproto.Identity) bool {
	if path == "" {
		return false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var gateways, dns []string
	for _, line := range strings.Split(string(b), "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		switch key {
		case "Gateway":
			gateways = append(gateways, value)
		case "DNS":
			dns = append(dns, strings.Fields(value)...)
		}
	}
	want := []string{}
	if id.Gateway != "" {
		want = append(want, id.Gateway)
	}
	return slices.Equal(gateways, want) && sameSet(dns, id.DNS)
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
