package network

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
)

// Teardown removes what EnsureBridge, EnsureTap and RouteDNS made: every
// tap on the bridge whose name has TapPrefix, systemd-resolved's settings
// for the bridge, the bridge, and the nftables table "banger". Nothing else is touched: not other interfaces, not other
// tables, and not net.ipv4.ip_forward, which other software may need. A
// bridge of that name that banger did not create is left alone and
// reported. Running it again, or on a host without banger's network, does
// nothing.
func Teardown(c Config) error { return teardown(myUID(), c) }

func teardown(caller int, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	var errs []error
	br, err := ownBridge(caller, c.Bridge)
	if err != nil {
		errs = append(errs, fmt.Errorf("leaving bridge %s alone: %w", c.Bridge, err))
	}
	if br != nil {
		if err := unrouteDNS(br); err != nil {
			errs = append(errs, err)
		}
		if err := deleteTaps(caller, br); err != nil {
			errs = append(errs, err)
		} else if err := deleteLink(c.Bridge); err != nil {
			errs = append(errs, fmt.Errorf("removing bridge: %w", err))
		}
	}
	if err := deleteTables(caller, c); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Cleanup undoes banger's host networking; it is what `bangerd --cleanup`
// runs, for a host where the daemon is gone but its bridge, taps or
// firewall table are not. It is Teardown under the name the command uses.
func Cleanup(c Config) error { return Teardown(c) }

// deleteTaps removes the caller's banger taps from the bridge br.
func deleteTaps(caller int, br netlink.Link) error {
	links, err := retryDump(netlink.LinkList)
	if err != nil {
		return fmt.Errorf("listing interfaces: %w", err)
	}
	var errs []error
	for _, l := range links {
		a := l.Attrs()
		if tap, isTap := l.(*netlink.Tuntap); !isTap || !tapOwnedBy(tap, caller) || a.MasterIndex != br.Attrs().Index || !strings.HasPrefix(a.Name, TapPrefix) {
			continue
		}
		if err := deleteLink(a.Name); err != nil {
			errs = append(errs, fmt.Errorf("removing tap: %w", err))
		}
	}
	return errors.Join(errs...)
}
