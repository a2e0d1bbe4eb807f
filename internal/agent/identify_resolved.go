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
// resolved's D-Bus form (address family, bytes).
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

// apply hands resolved the link's DNS servers. That is all it needs: a
// link with servers and no routing-only domains is a default route for
// lookups unless told otherwise, and one resolved learns of has
// multicast DNS off already.
func (l resolvedLink) apply(ctx context.Context) error {
	const method = "org.freedesktop.resolve1.Manager.SetLinkDNS"
	if err := busObject(ctx, "org.freedesktop.resolve1", "/org/freedesktop/resolve1", method, l.ifindex, l.servers); err != nil {
		return fmt.Errorf("SetLinkDNS: %w", err)
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
