package network

import (
	"context"
	"net/netip"
	"os"
	"time"
)

// Client performs banger's privileged network operations, in-process or
// through a helper running as root.
type Client interface {
	EnsureBridge(ctx context.Context, c Config) error
	EnsureTap(ctx context.Context, c Config, name string, owner int) error
	EnsureUnpluggedTap(ctx context.Context, c Config, name string, owner int) error
	DeleteTap(ctx context.Context, name string) error
	Teardown(ctx context.Context, c Config) error
	RouteDNS(ctx context.Context, c Config) error
	// SetPolicy installs or replaces the rules of one VM, anti-spoofing
	// included, in one nftables transaction. It is idempotent, and drops
	// the conntrack entries the new policy refuses, so a change takes
	// effect at once. The bridge must exist.
	SetPolicy(ctx context.Context, c Config, g Guest, p Policy) error
	// AllowResolved adds addresses bangerd's DNS answered the guest on
	// tap for an allowed domain to that VM's allow sets, each expiring
	// after ttl (at least MinResolvedTTL). Port 0 means any port.
	AllowResolved(ctx context.Context, c Config, tap string, dests []netip.AddrPort, ttl time.Duration) error
}

var _ Client = OpClient{}

// NewClient returns a Client that runs the operations in this process
// when it is root, else through sudo with bangerdPath (which must be
// absolute) as the helper.
func NewClient(bangerdPath string) Client {
	if os.Geteuid() == 0 {
		return OpClient{Local{}}
	}
	return OpClient{Sudo{Bangerd: bangerdPath}}
}

// Runner applies one Op with root's network privileges.
type Runner interface {
	Run(ctx context.Context, op Op) error
}

// OpClient is the Client that turns each call into an Op and hands it to
// Runner: Local or Sudo.
type OpClient struct {
	Runner Runner
}

// EnsureBridge runs EnsureBridge.
func (c OpClient) EnsureBridge(ctx context.Context, cfg Config) error {
	return c.Runner.Run(ctx, Op{Kind: OpEnsureBridge, Config: cfg})
}

// EnsureTap runs EnsureTap.
func (c OpClient) EnsureTap(ctx context.Context, cfg Config, name string, owner int) error {
	return c.Runner.Run(ctx, Op{Kind: OpEnsureTap, Config: cfg, Tap: name, Owner: owner})
}

// EnsureUnpluggedTap runs EnsureUnpluggedTap.
func (c OpClient) EnsureUnpluggedTap(ctx context.Context, cfg Config, name string, owner int) error {
	return c.Runner.Run(ctx, Op{Kind: OpEnsureTap, Config: cfg, Tap: name, Owner: owner, Unplugged: true})
}

// DeleteTap runs DeleteTap.
func (c OpClient) DeleteTap(ctx context.Context, name string) error {
	return c.Runner.Run(ctx, Op{Kind: OpDeleteTap, Tap: name})
}

// Teardown runs Teardown.
func (c OpClient) Teardown(ctx context.Context, cfg Config) error {
	return c.Runner.Run(ctx, Op{Kind: OpTeardown, Config: cfg})
}

// RouteDNS runs RouteDNS.
func (c OpClient) RouteDNS(ctx context.Context, cfg Config) error {
	return c.Runner.Run(ctx, Op{Kind: OpRouteDNS, Config: cfg})
}

// SetPolicy runs SetPolicy.
func (c OpClient) SetPolicy(ctx context.Context, cfg Config, g Guest, p Policy) error {
	return c.Runner.Run(ctx, setPolicyOp(cfg, g, p))
}

// AllowResolved runs AllowResolved.
func (c OpClient) AllowResolved(ctx context.Context, cfg Config, tap string, dests []netip.AddrPort, ttl time.Duration) error {
	return c.Runner.Run(ctx, allowResolvedOp(cfg, tap, dests, ttl))
}

func setPolicyOp(c Config, g Guest, p Policy) Op {
	if p.Mode == "" {
		p.Mode = PolicyInternet
	}
	return Op{Kind: OpSetPolicy, Config: c, Guest: &g, Policy: &p}
}

func allowResolvedOp(c Config, tap string, dests []netip.AddrPort, ttl time.Duration) Op {
	return Op{Kind: OpAllowResolved, Config: c, Tap: tap, Dests: dests, TTL: resolvedTTLSeconds(ttl)}
}

// Local runs the operations in this process, which must have
// CAP_NET_ADMIN. The calls do not block for long, so ctx is only checked
// before each one.
type Local struct{}

// Run applies op for this process's user.
func (Local) Run(ctx context.Context, op Op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return op.Apply(os.Getuid())
}
