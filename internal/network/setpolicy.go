package network

import (
	"net/netip"
	"time"
)

// SetPolicy installs or replaces the rules of guest g on the bridge of c
// for this process's user; see Client.SetPolicy.
func SetPolicy(c Config, g Guest, p Policy) error {
	return Op{Kind: OpSetPolicy, Config: c, Guest: &g, Policy: &p}.Apply(myUID())
}

// AllowResolved adds resolved destinations to the allow sets of the VM on
// tap; see Client.AllowResolved.
func AllowResolved(c Config, tap string, dests []netip.AddrPort, ttl time.Duration) error {
	return allowResolvedOp(c, tap, dests, ttl).Apply(myUID())
}

func setPolicy(caller int, c Config, g Guest, p Policy) error {
	return nil
}

func allowResolved(caller int, c Config, tap string, dests []netip.AddrPort, ttl time.Duration) error {
	return nil
}
