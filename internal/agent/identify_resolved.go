package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/godbus/dbus/v5"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// resolvedLink is what resolved is told about a link: its DNS servers, in
// resolved's D-Bus form (address family, bytes), and that it carries the
// default route for lookups.
type resolvedLink struct {
	ifindex int32
	servers []dnsServer
}

// dnsServer is resolved's (iay) pair.
type dnsServer struct {
	Family  int32
	Address []byte
}

func newResolvedLink(ifindex int, dns []string) (resolvedLink, error) {
	l := resolvedLink{ifindex: int32(ifindex)}
	for _, d := range dns {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return l, fmt.Errorf("DNS server %q: %w", d, err)
		}
		family := int32(unix.AF_INET6)
		if a.Unmap().Is4() {
			a, family = a.Unmap(), unix.AF_INET
		}
		l.servers = append(l.servers, dnsServer{Family: family, Address: a.AsSlice()})
	}
	return l, nil
}

// setResolvers tells resolved, over D-Bus, the DNS servers of a link that
// networkd does not manage, as networkd would tell it of one it does. A
// guest without a system bus or without resolved has no one to tell.
func setResolvers(ctx context.Context, link netlink.Link, dns []string) error {
	l, err := newResolvedLink(link.Attrs().Index, dns)
	if err != nil || len(l.servers) == 0 {
		return err
	}
	err = l.apply(ctx)
	if errors.Is(err, errNoBus) || isServiceUnknown(err) {
		return nil // no D-Bus, or no resolved
	}
	if err != nil {
		return fmt.Errorf("telling resolved the DNS servers: %w", err)
	}
	return nil
}

// apply makes the calls. A link resolved learns of has multicast DNS off
// already.
func (l resolvedLink) apply(ctx context.Context) error {
	const manager = "org.freedesktop.resolve1.Manager."
	for _, c := range []struct {
		method string
		arg    any
	}{
		{"SetLinkDNS", l.servers},
		{"SetLinkDefaultRoute", true},
	} {
		if err := busObject(ctx, "org.freedesktop.resolve1", "/org/freedesktop/resolve1", manager+c.method, l.ifindex, c.arg); err != nil {
			return fmt.Errorf("%s: %w", c.method, err)
		}
	}
	return nil
}

// isServiceUnknown reports whether err is D-Bus saying that no one owns
// the name called.
func isServiceUnknown(err error) bool {
	const name = "org.freedesktop.DBus.Error.ServiceUnknown"
	var de dbus.Error
	var pe *dbus.Error
	return errors.As(err, &de) && de.Name == name || errors.As(err, &pe) && pe.Name == name
}
