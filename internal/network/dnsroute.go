package network

import (
	"errors"

	"github.com/vishvananda/netlink"

	"banger/internal/dns"
	"banger/internal/errdefs"
)

// RouteDNS has systemd-resolved send questions for the .vm zone to the
// gateway address over banger's bridge, where bangerd answers them (see
// dns.RouteLink). Where no systemd-resolved serves this network
// namespace it changes nothing and returns an error wrapping
// dns.ErrNoResolved. Removing the bridge undoes it.
func RouteDNS(c Config) error { return routeDNS(myUID(), c) }

func routeDNS(caller int, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	br, err := ownBridge(caller, c.Bridge)
	if err != nil {
		return err
	}
	if br == nil {
		return errdefs.FailedPrecondition("bridge %s does not exist, so .vm cannot be routed to it; it is made when a VM starts", c.Bridge)
	}
	return dns.RouteLink(br.Attrs().Index, c.Gateway())
}

// unrouteDNS drops what RouteDNS set on the bridge br, if anything.
func unrouteDNS(br netlink.Link) error {
	if err := dns.RevertLink(br.Attrs().Index); err != nil && !errors.Is(err, dns.ErrNoResolved) {
		return err
	}
	return nil
}
