package localpeer

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
)

// GuestNet names the guests' network: the bridge's subnet and the bridge.
type GuestNet struct {
	Subnet netip.Prefix
	Bridge string
}

// FromGuest reports whether p comes from a guest: from an address of the
// guests' subnet, to one (the bridge's own address, which only guests
// route to), or over the bridge's link (IPv6 link-local addresses carry
// it as their zone).
func (g GuestNet) FromGuest(p Peer) bool {
	for _, a := range []netip.Addr{p.Remote.Addr(), p.Local.Addr()} {
		if g.Bridge != "" && a.Zone() == g.Bridge {
			return true
		}
		if g.Subnet.IsValid() && g.Subnet.Contains(a.WithZone("").Unmap()) {
			return true
		}
	}
	return false
}

// Rules are who a front-end serves: never a guest nor another user of
// this machine, and other machines only when AllowRemote.
type Rules struct {
	// Name is the front-end's, as its refusals say it: "web UI".
	Name string
	// LogPrefix starts its log messages: "web".
	LogPrefix string
	// Guests, when set, names the guests' network, asked for each
	// request (the config can change).
	Guests func() GuestNet
	// AllowRemote lets other machines through; RemoteHint ends the
	// refusal when it does not (": set ... = true", say).
	AllowRemote bool
	RemoteHint  string
	Log         *slog.Logger
}

// Refusal says why a request's connection is refused, or "" when it may
// go on: its peer cannot be told, is a guest, another user of this
// machine (not the daemon's and not root), or another machine when
// remote clients are not allowed. A request without a recorded peer
// passes.
func (ru Rules) Refusal(r *http.Request) string {
	p, ok := FromRequest(r)
	switch {
	case !ok:
		return ""
	case p.Err != nil:
		ru.log().Warn(ru.LogPrefix+": cannot tell who connected", "remote", r.RemoteAddr, "err", p.Err)
		return "cannot tell which user this connection belongs to, so it is refused"
	case ru.Guests != nil && ru.Guests().FromGuest(p):
		ru.log().Warn(ru.LogPrefix+": refused a guest", "remote", r.RemoteAddr)
		return fmt.Sprintf("the %s does not serve banger's guests", ru.Name)
	case p.IsLocal && p.UID != os.Getuid() && p.UID != 0:
		ru.log().Warn(ru.LogPrefix+": refused another user", "uid", p.UID, "remote", r.RemoteAddr)
		return fmt.Sprintf("this %s serves only the user who runs bangerd (uid %d); this connection is uid %d's", ru.Name, os.Getuid(), p.UID)
	case !p.IsLocal && !ru.AllowRemote:
		return fmt.Sprintf("this %s serves only this machine%s", ru.Name, ru.RemoteHint)
	}
	return ""
}

func (ru Rules) log() *slog.Logger {
	if ru.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return ru.Log
}
