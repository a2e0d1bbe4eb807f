package dns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"
)

// systemd-resolved's D-Bus names (org.freedesktop.resolve1(5)).
const (
	resolvedName    = "org.freedesktop.resolve1"
	resolvedPath    = dbus.ObjectPath("/org/freedesktop/resolve1")
	resolvedManager = "org.freedesktop.resolve1.Manager."
)

// ErrNoResolved means there is no systemd-resolved to configure here:
// no system bus, resolved not running, or resolved running in another
// network namespace, where the bridge is not its link.
var ErrNoResolved = errors.New("no systemd-resolved serves this network namespace")

// busTimeout bounds each call to resolved.
const busTimeout = 5 * time.Second

// RouteLink tells systemd-resolved to send questions for the .vm zone, and
// only those, to server over the link with index ifindex: server becomes
// the link's DNS server, "~vm" its routing-only domain, and the link is
// never the default route for other names. LLMNR, mDNS, DNSSEC and DNS
// over TLS are turned off on the link, as the server speaks plain DNS for
// a private zone. It needs root (or polkit's consent). It returns an
// error wrapping ErrNoResolved when resolved is not there.
func RouteLink(ifindex int, server netip.Addr) error {
	return withResolved(func(r resolved) error { return r.route(ifindex, server, DefaultZone) })
}

// RevertLink drops everything RouteLink set on the link. Deleting the link
// drops it too.
func RevertLink(ifindex int) error {
	return withResolved(func(r resolved) error { return r.revert(ifindex) })
}

func withResolved(fn func(resolved) error) error {
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		return fmt.Errorf("%w: connecting to the system bus: %v", ErrNoResolved, err)
	}
	defer conn.Close()
	r := resolved{conn: conn}
	if err := r.here(); err != nil {
		return err
	}
	return fn(r)
}

// resolved is systemd-resolved on a bus connection.
type resolved struct {
	conn *dbus.Conn
}

// here checks that resolved runs and shares this process's network
// namespace, so that an interface index means the same link to both.
func (r resolved) here() error {
	ctx, cancel := context.WithTimeout(context.Background(), busTimeout)
	defer cancel()
	var pid uint32
	err := r.conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetConnectionUnixProcessID", 0, resolvedName).Store(&pid)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoResolved, err)
	}
	same, err := sameNetns(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return fmt.Errorf("telling whether systemd-resolved (pid %d) shares this network namespace: %w", pid, err)
	}
	if !same {
		return fmt.Errorf("%w: systemd-resolved (pid %d) runs in another network namespace", ErrNoResolved, pid)
	}
	return nil
}

func (r resolved) route(ifindex int, server netip.Addr, zone string) error {
	type dnsAddr struct {
		Family  int32
		Address []byte
	}
	type domain struct {
		Name        string
		RoutingOnly bool
	}
	family := int32(syscall.AF_INET)
	if server.Is6() {
		family = syscall.AF_INET6
	}
	i := int32(ifindex)
	calls := []struct {
		method string
		args   []any
	}{
		{"SetLinkDNS", []any{i, []dnsAddr{{family, server.AsSlice()}}}},
		{"SetLinkDomains", []any{i, []domain{{strings.TrimSuffix(zone, "."), true}}}},
		{"SetLinkDefaultRoute", []any{i, false}},
		{"SetLinkLLMNR", []any{i, "no"}},
		{"SetLinkMulticastDNS", []any{i, "no"}},
		{"SetLinkDNSSEC", []any{i, "no"}},
		{"SetLinkDNSOverTLS", []any{i, "no"}},
	}
	for _, c := range calls {
		if err := r.call(c.method, c.args...); err != nil {
			return err
		}
	}
	return nil
}

func (r resolved) revert(ifindex int) error {
	return r.call("RevertLink", int32(ifindex))
}

func (r resolved) call(method string, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), busTimeout)
	defer cancel()
	obj := r.conn.Object(resolvedName, resolvedPath)
	if err := obj.CallWithContext(ctx, resolvedManager+method, 0, args...).Err; err != nil {
		return fmt.Errorf("systemd-resolved %s: %w", method, err)
	}
	return nil
}

// sameNetns reports whether the network namespace at path is this
// process's.
func sameNetns(path string) (bool, error) {
	mine, err := os.Stat("/proc/self/ns/net")
	if err != nil {
		return false, err
	}
	theirs, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return os.SameFile(mine, theirs), nil
}
