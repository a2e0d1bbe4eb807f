package network

import (
	"fmt"

	"github.com/vishvananda/netlink"

	"banger/internal/errdefs"
)

// SetPolicy installs or replaces the rules of guest g on the bridge of c
// for this process's user; see Client.SetPolicy.
func SetPolicy(c Config, g Guest, p Policy) error {
	return setPolicyOp(c, g, p).Apply(myUID())
}

func setPolicy(caller int, c Config, g Guest, p Policy) error {
	if err := needOwnPort(caller, c, g.Tap); err != nil {
		return fmt.Errorf("setting the network policy of %s: %w", g.Tap, err)
	}
	// A bridge an older banger made, adopted with its VMs after an
	// upgrade, gets what the rules rely on first.
	if err := proxyGuestsARP(c.Bridge); err != nil {
		return err
	}
	conn, tx, err := beginVMTx(caller, c)
	if err != nil {
		return err
	}
	old, err := tx.read(g.Tap)
	if err != nil {
		return nftError("reading the rules of "+g.Tap, err)
	}
	want := vmComment(c, g, p)
	if old.comment == want && old.complete {
		return nil
	}
	mac, _ := guestMAC(g.MAC) // checked with the op
	if err := tx.replace(old, g, mac, p, want); err != nil {
		return fmt.Errorf("setting the network policy of %s: %w", g.Tap, err)
	}
	if err := conn.Flush(); err != nil {
		return nftError("setting the network policy of "+g.Tap, err)
	}
	return dropRefusedFlows(c, g, p)
}

// needOwnPort fails unless the caller's bridge of c exists and the
// interface name is the caller's: a tap it owns, or a port of its
// bridge. The bridge family's rules key on interface names and see every
// bridge's frames, so one user's rules must never name another's tap.
func needOwnPort(caller int, c Config, name string) error {
	br, err := ownBridge(caller, c.Bridge)
	if err != nil {
		return err
	}
	if br == nil {
		return errdefs.FailedPrecondition("bridge %s does not exist; set up the bridge first", c.Bridge)
	}
	l, err := linkByName(name)
	switch {
	case err != nil:
		return err
	case l == nil:
		return errdefs.FailedPrecondition("tap %s does not exist; create it first", name)
	}
	if tap, ok := l.(*netlink.Tuntap); ok {
		if !tapOwnedBy(tap, caller) {
			return errdefs.FailedPrecondition("tap %s belongs to %s, not to uid %d; banger leaves it alone", name, tapOwnerName(tap), caller)
		}
		return nil
	}
	if l.Attrs().MasterIndex != br.Attrs().Index {
		return errdefs.FailedPrecondition("interface %s is neither a tap of uid %d nor a port of bridge %s", name, caller, c.Bridge)
	}
	return nil
}

// needBridge fails unless the caller's bridge of c exists.
func needBridge(caller int, c Config, doing string) error {
	br, err := ownBridge(caller, c.Bridge)
	if err != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	if br == nil {
		return errdefs.FailedPrecondition("%s: bridge %s does not exist; set up the bridge first", doing, c.Bridge)
	}
	return nil
}
