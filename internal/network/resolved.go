package network

import (
	"math"
	"net/netip"
	"time"

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
