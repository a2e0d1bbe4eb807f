// Package nettest is a fake network.Client for tests of the code above
// the host network: it touches nothing, records what it is asked, and
// keeps the bridges, taps and policies the real client would have made.
// It refuses what the real one refuses: invalid arguments (as
// network.Op.Check says), a tap or a policy without its bridge, a policy
// without its tap, resolved addresses for a VM whose policy is not allow=.
package nettest

import (
	"context"
	"math"
	"net/netip"
	"slices"
	"sync"
	"time"

	"banger/internal/errdefs"
	"banger/internal/network"
)

var _ network.Client = (*Client)(nil)

// Call is one recorded call of a network.Client method.
type Call struct {
	Method string         // "EnsureBridge", "EnsureTap", ...
	Config network.Config // zero for DeleteTap
	Tap    string         // the tap of a tap, policy or resolved call
}

// Tap is a tap the fake holds.
type Tap struct {
	Name    string
	Bridge  string
	Owner   int
	Plugged bool // false for EnsureUnpluggedTap's
}

// Policy is the policy set on a tap, with the guest it was set for.
type Policy struct {
	Guest  network.Guest
	Policy network.Policy // Mode "" is made network.PolicyInternet, as the real client does
}

// Resolved is one AllowResolved call.
type Resolved struct {
	Tap   string
	Dests []netip.AddrPort
	TTL   time.Duration // clamped to [MinResolvedTTL, MaxResolvedTTL] and whole seconds, as the real client does
}

// Client is a fake network.Client. Its zero value is not usable: call
// New. All its methods are safe for concurrent use.
type Client struct {
	mu        sync.Mutex
	calls     []Call
	fails     map[string]failure
	bridges   map[string]network.Config
	dns       map[string]bool
	taps      map[string]Tap
	policies  map[string]Policy
	resolved  []Resolved
	teardowns []network.Config
}

type failure struct {
	err  error
	once bool
}

// New returns a fake with no bridge.
func New() *Client {
	return &Client{fails: map[string]failure{}, bridges: map[string]network.Config{}, dns: map[string]bool{}, taps: map[string]Tap{}, policies: map[string]Policy{}}
}

// EnsureBridge records the bridge c.Bridge.
func (f *Client) EnsureBridge(ctx context.Context, c network.Config) error {
	return f.do("EnsureBridge", network.Op{Kind: network.OpEnsureBridge, Config: c}, func() error {
		f.bridges[c.Bridge] = c
		return nil
	})
}

// EnsureTap records the tap name, plugged into c's bridge, which must
// exist.
func (f *Client) EnsureTap(ctx context.Context, c network.Config, name string, owner int) error {
	return f.ensureTap("EnsureTap", c, name, owner, true)
}

// EnsureUnpluggedTap records the tap name, off c's bridge, which must
// exist.
func (f *Client) EnsureUnpluggedTap(ctx context.Context, c network.Config, name string, owner int) error {
	return f.ensureTap("EnsureUnpluggedTap", c, name, owner, false)
}

func (f *Client) ensureTap(method string, c network.Config, name string, owner int, plugged bool) error {
	op := network.Op{Kind: network.OpEnsureTap, Config: c, Tap: name, Owner: owner, Unplugged: !plugged}
	return f.do(method, op, func() error {
		if err := f.needBridge(c, "creating tap "+name); err != nil {
			return err
		}
		f.taps[name] = Tap{Name: name, Bridge: c.Bridge, Owner: owner, Plugged: plugged}
		return nil
	})
}

// DeleteTap forgets the tap and its policy; a tap it does not hold is no
// error.
func (f *Client) DeleteTap(ctx context.Context, name string) error {
	return f.do("DeleteTap", network.Op{Kind: network.OpDeleteTap, Tap: name}, func() error {
		delete(f.taps, name)
		delete(f.policies, name)
		return nil
	})
}

// Teardown forgets c's bridge, its taps and their policies.
func (f *Client) Teardown(ctx context.Context, c network.Config) error {
	return f.do("Teardown", network.Op{Kind: network.OpTeardown, Config: c}, func() error {
		for name, t := range f.taps {
			if t.Bridge == c.Bridge {
				delete(f.taps, name)
				delete(f.policies, name)
			}
		}
		delete(f.bridges, c.Bridge)
		delete(f.dns, c.Bridge)
		f.teardowns = append(f.teardowns, c)
		return nil
	})
}

// RouteDNS records that c's bridge routes DNS; the bridge must exist.
func (f *Client) RouteDNS(ctx context.Context, c network.Config) error {
	return f.do("RouteDNS", network.Op{Kind: network.OpRouteDNS, Config: c}, func() error {
		if err := f.needBridge(c, "routing DNS"); err != nil {
			return err
		}
		f.dns[c.Bridge] = true
		return nil
	})
}

// SetPolicy records p for g.Tap; the bridge and the tap must exist.
func (f *Client) SetPolicy(ctx context.Context, c network.Config, g network.Guest, p network.Policy) error {
	if p.Mode == "" {
		p.Mode = network.PolicyInternet
	}
	op := network.Op{Kind: network.OpSetPolicy, Config: c, Guest: &g, Policy: &p}
	return f.do("SetPolicy", op, func() error {
		if err := f.needBridge(c, "setting the network policy of "+g.Tap); err != nil {
			return err
		}
		if _, ok := f.taps[g.Tap]; !ok {
			return errdefs.FailedPrecondition("setting the network policy of %s: tap %s does not exist; create it first", g.Tap, g.Tap)
		}
		p.Allow = slices.Clone(p.Allow)
		f.policies[g.Tap] = Policy{Guest: g, Policy: p}
		return nil
	})
}

// AllowResolved records dests for tap, whose policy must be allow=.
func (f *Client) AllowResolved(ctx context.Context, c network.Config, tap string, dests []netip.AddrPort, ttl time.Duration) error {
	ttl = min(max(ttl, network.MinResolvedTTL), network.MaxResolvedTTL)
	secs := int(math.Ceil(ttl.Seconds()))
	op := network.Op{Kind: network.OpAllowResolved, Config: c, Tap: tap, Dests: dests, TTL: secs}
	return f.do("AllowResolved", op, func() error {
		if err := f.needBridge(c, "allowing resolved addresses for "+tap); err != nil {
			return err
		}
		if p, ok := f.policies[tap]; !ok || p.Policy.Mode != network.PolicyAllow {
			return errdefs.FailedPrecondition("allowing resolved addresses for %s: the VM has no allow list of resolved addresses; its policy is not allow=", tap)
		}
		f.resolved = append(f.resolved, Resolved{Tap: tap, Dests: slices.Clone(dests), TTL: time.Duration(secs) * time.Second})
		return nil
	})
}

// do records a call, then fails it as Fail says, refuses it as the real
// client would, or applies it.
func (f *Client) do(method string, op network.Op, apply func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, Call{Method: method, Config: op.Config, Tap: tapOf(op)})
	if fl, ok := f.fails[method]; ok {
		if fl.once {
			delete(f.fails, method)
		}
		return fl.err
	}
	if err := op.Check(); err != nil {
		return err
	}
	return apply()
}

func tapOf(op network.Op) string {
	if op.Guest != nil {
		return op.Guest.Tap
	}
	return op.Tap
}

// needBridge refuses an operation on a bridge the fake does not hold.
// f.mu is held.
func (f *Client) needBridge(c network.Config, doing string) error {
	if _, ok := f.bridges[c.Bridge]; !ok {
		return errdefs.FailedPrecondition("%s: bridge %s does not exist; set up the bridge first", doing, c.Bridge)
	}
	return nil
}
