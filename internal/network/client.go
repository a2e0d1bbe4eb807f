package network

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"banger/internal/errdefs"
	"banger/internal/network/helperbin"
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

var (
	_ Client = Local{}
	_ Client = Sudo{}
)

// NewClient returns Local when this process is root, else a Sudo client
// that runs bangerdPath (which must be absolute) as the helper.
func NewClient(bangerdPath string) Client {
	if os.Geteuid() == 0 {
		return Local{}
	}
	return Sudo{Bangerd: bangerdPath}
}

// Local runs the operations in this process, which must have
// CAP_NET_ADMIN. The calls do not block for long, so ctx is only checked
// before each one.
type Local struct{}

func (Local) apply(ctx context.Context, op Op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return op.Apply(os.Getuid())
}

// EnsureBridge runs EnsureBridge.
func (l Local) EnsureBridge(ctx context.Context, c Config) error {
	return l.apply(ctx, Op{Kind: OpEnsureBridge, Config: c})
}

// EnsureTap runs EnsureTap.
func (l Local) EnsureTap(ctx context.Context, c Config, name string, owner int) error {
	return l.apply(ctx, Op{Kind: OpEnsureTap, Config: c, Tap: name, Owner: owner})
}

// EnsureUnpluggedTap runs EnsureUnpluggedTap.
func (l Local) EnsureUnpluggedTap(ctx context.Context, c Config, name string, owner int) error {
	return l.apply(ctx, Op{Kind: OpEnsureTap, Config: c, Tap: name, Owner: owner, Unplugged: true})
}

// DeleteTap runs DeleteTap.
func (l Local) DeleteTap(ctx context.Context, name string) error {
	return l.apply(ctx, Op{Kind: OpDeleteTap, Tap: name})
}

// Teardown runs Teardown.
func (l Local) Teardown(ctx context.Context, c Config) error {
	return l.apply(ctx, Op{Kind: OpTeardown, Config: c})
}

// RouteDNS runs RouteDNS.
func (l Local) RouteDNS(ctx context.Context, c Config) error {
	return l.apply(ctx, Op{Kind: OpRouteDNS, Config: c})
}

// SetPolicy runs SetPolicy.
func (l Local) SetPolicy(ctx context.Context, c Config, g Guest, p Policy) error {
	return l.apply(ctx, setPolicyOp(c, g, p))
}

// AllowResolved runs AllowResolved.
func (l Local) AllowResolved(ctx context.Context, c Config, tap string, dests []netip.AddrPort, ttl time.Duration) error {
	return l.apply(ctx, allowResolvedOp(c, tap, dests, ttl))
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

// Sudo runs each operation as `sudo -n <Bangerd> net '<json>'`, for a
// daemon that is not root. Arguments are checked before sudo runs, so bad
// ones fail with errdefs.InvalidArgument; the helper's stderr becomes the
// error's message. Sudo runs only a Bangerd that root alone can change
// (see helperbin.Check); for any other it fails with
// errdefs.FailedPrecondition saying why.
type Sudo struct {
	Bangerd string // absolute path of the bangerd binary
}

// EnsureBridge runs EnsureBridge through sudo.
func (s Sudo) EnsureBridge(ctx context.Context, c Config) error {
	return s.run(ctx, Op{Kind: OpEnsureBridge, Config: c})
}

// EnsureTap runs EnsureTap through sudo.
func (s Sudo) EnsureTap(ctx context.Context, c Config, name string, owner int) error {
	return s.run(ctx, Op{Kind: OpEnsureTap, Config: c, Tap: name, Owner: owner})
}

// EnsureUnpluggedTap runs EnsureUnpluggedTap through sudo.
func (s Sudo) EnsureUnpluggedTap(ctx context.Context, c Config, name string, owner int) error {
	return s.run(ctx, Op{Kind: OpEnsureTap, Config: c, Tap: name, Owner: owner, Unplugged: true})
}

// DeleteTap runs DeleteTap through sudo.
func (s Sudo) DeleteTap(ctx context.Context, name string) error {
	return s.run(ctx, Op{Kind: OpDeleteTap, Tap: name})
}

// Teardown runs Teardown through sudo.
func (s Sudo) Teardown(ctx context.Context, c Config) error {
	return s.run(ctx, Op{Kind: OpTeardown, Config: c})
}

// RouteDNS runs RouteDNS through sudo.
func (s Sudo) RouteDNS(ctx context.Context, c Config) error {
	return s.run(ctx, Op{Kind: OpRouteDNS, Config: c})
}

// SetPolicy runs SetPolicy through sudo.
func (s Sudo) SetPolicy(ctx context.Context, c Config, g Guest, p Policy) error {
	return s.run(ctx, setPolicyOp(c, g, p))
}

// AllowResolved runs AllowResolved through sudo.
func (s Sudo) AllowResolved(ctx context.Context, c Config, tap string, dests []netip.AddrPort, ttl time.Duration) error {
	return s.run(ctx, allowResolvedOp(c, tap, dests, ttl))
}

func (s Sudo) run(ctx context.Context, op Op) error {
	if err := op.check(); err != nil {
		return err
	}
	if !filepath.IsAbs(s.Bangerd) {
		return fmt.Errorf("%s: bangerd path %q is not absolute, which sudo needs", op, s.Bangerd)
	}
	if err := checkHelper(s.Bangerd); errors.Is(err, helperbin.ErrUnsafe) {
		return errdefs.FailedPrecondition("%s needs root, and bangerd is not root: %v", op, err)
	} else if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	arg, err := json.Marshal(op)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	cmd := exec.CommandContext(ctx, "sudo", "-n", s.Bangerd, "net", string(arg))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	switch msg := lastBytes(strings.TrimSpace(stderr.String()), 4096); {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", op, ctx.Err())
	case errors.Is(err, exec.ErrNotFound):
		return errdefs.FailedPrecondition("%s needs root, bangerd is not root and sudo is not installed: run bangerd as root, or install sudo and allow passwordless `%s net *` for this user", op, s.Bangerd)
	case isSudoRefusal(msg):
		return errdefs.FailedPrecondition("%s needs root and sudo refused (%s): run bangerd as root, or allow this user passwordless sudo for bangerd, e.g. a sudoers line `%s ALL=(root) NOPASSWD: %s net *`",
			op, firstLine(msg), currentUser(), s.Bangerd)
	case msg != "":
		return fmt.Errorf("%s (as root through sudo): %s", op, msg)
	default:
		return fmt.Errorf("%s (as root through sudo): %w", op, err)
	}
}

// checkHelper says whether a bangerd binary may be run as root through
// sudo; only one that no user but root can change is run, or offered for
// a sudoers rule.
var checkHelper = helperbin.Check

func isSudoRefusal(msg string) bool {
	for _, s := range []string{"a password is required", "a terminal is required", "is not in the sudoers", "is not allowed to execute", "may not run sudo"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// currentUser names this process's user for the sudoers example.
func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprintf("#%d", os.Getuid())
}

// lastBytes keeps the end of a long helper message, where the error is.
func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
