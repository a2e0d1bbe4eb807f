package network

import (
	"errors"
	"math"
	"net/netip"
	"time"

	"github.com/google/nftables"

	"banger/internal/errdefs"
)

// Bounds on AllowResolved: a resolved address stays at least
// MinResolvedTTL, so a guest that caches an answer a little longer than
// its TTL still connects, and at most MaxResolvedTTL.
const (
	MinResolvedTTL   = time.Minute
	MaxResolvedTTL   = 24 * time.Hour
	maxResolvedDests = 64
)

// resolvedTTLSeconds clamps ttl to [MinResolvedTTL, MaxResolvedTTL], in
// whole seconds.
func resolvedTTLSeconds(ttl time.Duration) int {
	ttl = min(max(ttl, MinResolvedTTL), MaxResolvedTTL)
	return int(math.Ceil(ttl.Seconds()))
}

// checkResolved accepts 1 to maxResolvedDests IPv4 destinations that a
// domain may lead a guest to, and a TTL within bounds. Loopback,
// link-local, unspecified, multicast and broadcast addresses are refused
// whatever a DNS answer says, so an allowed domain cannot be pointed at
// the metadata service.
func checkResolved(dests []netip.AddrPort, ttl int) error {
	if len(dests) == 0 || len(dests) > maxResolvedDests {
		return errdefs.InvalidArgument("allow-resolved takes 1 to %d destinations, not %d", maxResolvedDests, len(dests))
	}
	if ttl < int(MinResolvedTTL.Seconds()) || ttl > int(MaxResolvedTTL.Seconds()) {
		return errdefs.InvalidArgument("allow-resolved TTL %ds is out of range; use %s to %s", ttl, MinResolvedTTL, MaxResolvedTTL)
	}
	for _, d := range dests {
		if err := checkResolvedAddr(d.Addr()); err != nil {
			return err
		}
	}
	return nil
}

func checkResolvedAddr(a netip.Addr) error {
	if !a.Is4() {
		return errdefs.InvalidArgument("resolved address %s is not IPv4; guests have IPv4 only", a)
	}
	if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast() || specialRange.Contains(a) || reservedRange.Contains(a) {
		return errdefs.InvalidArgument("resolved address %s is loopback, link-local, unspecified, multicast or reserved; it is never allowed", a)
	}
	return nil
}

var (
	specialRange  = netip.MustParsePrefix("0.0.0.0/8")
	reservedRange = netip.MustParsePrefix("240.0.0.0/4")
)

// AllowResolved adds resolved destinations to the allow sets of the VM on
// tap; see Client.AllowResolved.
func AllowResolved(c Config, tap string, dests []netip.AddrPort, ttl time.Duration) error {
	return allowResolvedOp(c, tap, dests, ttl).Apply(myUID())
}

func allowResolved(caller int, c Config, tap string, dests []netip.AddrPort, ttl time.Duration) error {
	if err := needBridge(caller, c, "allowing resolved addresses for "+tap); err != nil {
		return err
	}
	conn, err := nftables.New()
	if err != nil {
		return nftError("opening nftables", err)
	}
	inet, _ := tables(caller, c.Bridge)
	sets := resolvedSets(inet, tap)
	var anyPort, perPort []nftables.SetElement
	for _, d := range dests {
		if d.Port() == 0 {
			anyPort = append(anyPort, nftables.SetElement{Key: d.Addr().AsSlice(), Timeout: ttl})
			continue
		}
		for _, proto := range []byte{6, 17} { // tcp, udp
			key := append(d.Addr().AsSlice(), proto, 0, 0, 0, byte(d.Port()>>8), byte(d.Port()), 0, 0)
			perPort = append(perPort, nftables.SetElement{Key: key, Timeout: ttl})
		}
	}
	for i, elems := range [][]nftables.SetElement{anyPort, perPort} {
		if len(elems) == 0 {
			continue
		}
		if err := refreshElements(conn, sets[i], elems); err != nil {
			if errors.Is(err, errdefs.ErrFailedPrecondition) {
				return err
			}
			return nftError("allowing resolved addresses for "+tap, err)
		}
	}
	if err := conn.Flush(); err != nil {
		return nftError("allowing resolved addresses for "+tap, err)
	}
	return nil
}

// refreshElements queues adding elems to set, first deleting those already
// in it, since adding an element again does not renew its timeout.
func refreshElements(conn *nftables.Conn, set *nftables.Set, elems []nftables.SetElement) error {
	have, err := conn.GetSetElements(set)
	if err != nil {
		return errdefs.FailedPrecondition("the VM has no allow list of resolved addresses (%v); its policy is not allow=", err)
	}
	present := map[string]bool{}
	for _, e := range have {
		present[string(e.Key)] = true
	}
	var old []nftables.SetElement
	for _, e := range elems {
		if present[string(e.Key)] {
			old = append(old, nftables.SetElement{Key: e.Key})
			delete(present, string(e.Key))
		}
	}
	if len(old) > 0 {
		if err := conn.SetDeleteElements(set, old); err != nil {
			return err
		}
	}
	return conn.SetAddElements(set, elems)
}
