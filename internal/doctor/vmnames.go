package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"banger/internal/errdefs"
)

// VMNames is what the "vm names" check needs: a running VM to look up,
// and where bangerd answers for .vm names.
type VMNames struct {
	// RunningVM returns a VM that holds an address, asking the daemon
	// without starting it; ok is false when there is none. Nil means none.
	RunningVM func(ctx context.Context) (name string, ip netip.Addr, ok bool, err error)
	// Server is bangerd's DNS server, host:port on the bridge.
	Server string
	// Resolve looks a name up through the host's resolver; nil uses Go's.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// Ask asks Server directly; nil uses lookupA.
	Ask func(ctx context.Context, server, name string) ([]netip.Addr, error)
}

// lookupTimeout bounds each lookup of the check.
const lookupTimeout = 2 * time.Second

const dnsRoutingDoc = "docs/dns-routing.md"

// checkVMNames resolves a running VM's NAME.vm through the host's
// resolver. When that fails it asks bangerd's server directly, to tell a
// host that does not route .vm to bangerd from a server that does not
// answer.
func checkVMNames(ctx context.Context, o VMNames) Result {
	const check = "vm names"
	if o.RunningVM == nil {
		return pass(check, "not tested: no VM is running")
	}
	name, ip, ok, err := o.RunningVM(ctx)
	if errors.Is(err, errdefs.ErrFailedPrecondition) { // the daemon check says why
		return warn(check, "not tested: cannot reach bangerd (see the daemon line)", "fix what the daemon line says")
	}
	if err != nil {
		return warn(check, "cannot ask bangerd for a running VM: "+err.Error(), "see `banger daemon logs`")
	}
	if !ok {
		return pass(check, "not tested: no VM is running; rerun with one running to check that NAME.vm resolves")
	}
	if o.Resolve == nil {
		o.Resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
		}
	}
	if o.Ask == nil {
		o.Ask = lookupA
	}
	host := name + ".vm"
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	got, err := o.Resolve(lctx, host)
	cancel()
	if err == nil && slices.Contains(unmapAll(got), ip) {
		return pass(check, fmt.Sprintf("%s resolves to %s through the host's resolver", host, ip))
	}
	why := fmt.Sprintf("resolves to %v, not %s", got, ip)
	if err != nil {
		why = "does not resolve (" + err.Error() + ")"
	}
	actx, cancel := context.WithTimeout(ctx, lookupTimeout)
	direct, derr := o.Ask(actx, o.Server, host)
	cancel()
	if derr != nil || !slices.Contains(direct, ip) {
		if derr == nil {
			derr = fmt.Errorf("it answered %v", direct)
		}
		return warn(check, fmt.Sprintf("%s %s, and bangerd's DNS server on %s does not answer for it: %v", host, why, o.Server, derr),
			"see `banger daemon logs` for why bangerd does not serve .vm names (as a user, it needs permission to bind port 53)")
	}
	return warn(check, fmt.Sprintf("%s %s through the host's resolver, though bangerd answers for it on %s", host, why, o.Server),
		"route .vm to "+o.Server+" on this host: see "+dnsRoutingDoc+" (systemd-resolved hosts are set up automatically)")
}

func unmapAll(as []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, len(as))
	for i, a := range as {
		out[i] = a.Unmap()
	}
	return out
}
