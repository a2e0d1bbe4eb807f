package nettest

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"banger/internal/errdefs"
	"banger/internal/network"
)

var (
	cfg   = network.Config{Bridge: "bgtest0", Subnet: netip.MustParsePrefix("172.16.0.0/24")}
	tap   = network.TapName("abc")
	guest = network.Guest{Tap: tap, MAC: "06:00:ac:10:00:02", IP: netip.MustParseAddr("172.16.0.2")}
)

func TestBridgeTapsAndPolicies(t *testing.T) {
	f := New()
	ctx := t.Context()
	must(t, f.EnsureBridge(ctx, cfg))
	must(t, f.RouteDNS(ctx, cfg))
	must(t, f.EnsureUnpluggedTap(ctx, cfg, tap, 1000))
	allow, err := network.ParsePolicy("allow=example.com:443")
	must(t, err)
	must(t, f.SetPolicy(ctx, cfg, guest, allow))
	if got, ok := f.Tap(tap); !ok || got.Plugged || got.Owner != 1000 || got.Bridge != cfg.Bridge {
		t.Errorf("tap = %+v, %v; want unplugged, owned by 1000, on %s", got, ok, cfg.Bridge)
	}
	must(t, f.EnsureTap(ctx, cfg, tap, 1000))
	if got := f.Taps(); len(got) != 1 || !got[0].Plugged {
		t.Errorf("taps = %+v, want the one tap, plugged in again", got)
	}
	if p, ok := f.Policy(tap); !ok || p.Policy.String() != allow.String() || p.Guest != guest {
		t.Errorf("policy = %+v, %v; want %s for the guest", p, ok, allow)
	}
	dest := netip.MustParseAddrPort("203.0.113.7:443")
	must(t, f.AllowResolved(ctx, cfg, tap, []netip.AddrPort{dest}, 0))
	if got := f.Resolved(); len(got) != 1 || got[0].Dests[0] != dest || got[0].TTL != network.MinResolvedTTL {
		t.Errorf("resolved = %+v, want the address for at least MinResolvedTTL", got)
	}
	must(t, f.DeleteTap(ctx, tap))
	if _, ok := f.Policy(tap); ok || len(f.Taps()) != 0 {
		t.Error("DeleteTap left the tap or its policy")
	}
	want := []string{"EnsureBridge", "RouteDNS", "EnsureUnpluggedTap", "SetPolicy", "EnsureTap", "AllowResolved", "DeleteTap"}
	if got := f.Methods(); !slices.Equal(got, want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
}

func TestTeardownForgetsTheBridgeAndItsTaps(t *testing.T) {
	f := New()
	ctx := t.Context()
	must(t, f.EnsureBridge(ctx, cfg))
	must(t, f.EnsureTap(ctx, cfg, tap, 0))
	must(t, f.SetPolicy(ctx, cfg, guest, network.Policy{}))
	if p, _ := f.Policy(tap); p.Policy.Mode != network.PolicyInternet {
		t.Errorf("empty policy recorded as %q, want internet", p.Policy.Mode)
	}
	must(t, f.Teardown(ctx, cfg))
	if _, ok := f.Bridge(cfg.Bridge); ok || len(f.Taps()) != 0 || len(f.Bridges()) != 0 {
		t.Error("Teardown left the bridge or a tap")
	}
	if _, ok := f.Policy(tap); ok {
		t.Error("Teardown left a policy")
	}
	if got := f.Teardowns(); len(got) != 1 || got[0] != cfg {
		t.Errorf("teardowns = %v", got)
	}
}

func TestRefusesWhatTheRealClientRefuses(t *testing.T) {
	f := New()
	ctx := t.Context()
	if err := f.EnsureTap(ctx, cfg, tap, 0); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("tap without a bridge: %v, want failed precondition", err)
	}
	must(t, f.EnsureBridge(ctx, cfg))
	if err := f.EnsureTap(ctx, cfg, "eth0", 0); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("tap named eth0: %v, want invalid argument", err)
	}
	if err := f.SetPolicy(ctx, cfg, guest, network.Policy{}); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("policy without a tap: %v, want failed precondition", err)
	}
	must(t, f.EnsureTap(ctx, cfg, tap, 0))
	must(t, f.SetPolicy(ctx, cfg, guest, network.Policy{}))
	dests := []netip.AddrPort{netip.MustParseAddrPort("203.0.113.7:443")}
	if err := f.AllowResolved(ctx, cfg, tap, dests, 0); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("resolved addresses under internet: %v, want failed precondition", err)
	}
	if len(f.Taps()) != 1 || len(f.Resolved()) != 0 {
		t.Error("refused calls changed the state")
	}
}

func TestFailInjection(t *testing.T) {
	f := New()
	ctx := t.Context()
	boom := errors.New("boom")
	f.FailOnce("EnsureBridge", boom)
	if err := f.EnsureBridge(ctx, cfg); !errors.Is(err, boom) {
		t.Fatalf("EnsureBridge = %v, want boom", err)
	}
	if _, ok := f.Bridge(cfg.Bridge); ok {
		t.Error("a failed EnsureBridge made the bridge")
	}
	must(t, f.EnsureBridge(ctx, cfg))
	f.Fail("SetPolicy", boom)
	must(t, f.EnsureTap(ctx, cfg, tap, 0))
	for range 2 {
		if err := f.SetPolicy(ctx, cfg, guest, network.Policy{}); !errors.Is(err, boom) {
			t.Fatalf("SetPolicy = %v, want boom", err)
		}
	}
	f.Fail("SetPolicy", nil)
	must(t, f.SetPolicy(ctx, cfg, guest, network.Policy{}))
	if got := f.Calls(); len(got) != 6 || got[3].Tap != tap || got[3].Config != cfg {
		t.Errorf("calls = %+v, want 6 with the policy's tap and config", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := New()
	ctx := t.Context()
	must(t, f.EnsureBridge(ctx, cfg))
	done := make(chan error)
	ids := []string{"a1", "b2", "c3", "d4", "e5", "f6", "g7", "h8"}
	for _, id := range ids {
		go func() { done <- f.EnsureTap(ctx, cfg, network.TapName(id), 0) }()
	}
	for range ids {
		must(t, <-done)
	}
	if got := f.Taps(); len(got) != len(ids) {
		t.Errorf("%d taps, want %d", len(got), len(ids))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
