package vm

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	miekg "github.com/miekg/dns"

	"banger/internal/config"
	"banger/internal/dns"
	"banger/internal/network"
	"banger/internal/store"
)

// fakeNet is a network.Client that changes nothing on the host. It
// records the policies it was given and the addresses it was told to
// open.
type fakeNet struct {
	routed, teardowns int
	policies          map[string]string // by tap
	opened            []string          // "tap dest ttl"
	policyErr         error
}

var _ network.Client = (*fakeNet)(nil)

func (f *fakeNet) EnsureBridge(context.Context, network.Config) error           { return nil }
func (f *fakeNet) EnsureTap(context.Context, network.Config, string, int) error { return nil }
func (f *fakeNet) EnsureUnpluggedTap(context.Context, network.Config, string, int) error {
	return nil
}
func (f *fakeNet) DeleteTap(context.Context, string) error        { return nil }
func (f *fakeNet) Teardown(context.Context, network.Config) error { f.teardowns++; return nil }
func (f *fakeNet) SetPolicy(_ context.Context, _ network.Config, g network.Guest, p network.Policy) error {
	if f.policyErr != nil {
		return f.policyErr
	}
	if f.policies == nil {
		f.policies = map[string]string{}
	}
	f.policies[g.Tap] = p.String()
	return nil
}
func (f *fakeNet) AllowResolved(_ context.Context, _ network.Config, tap string, dests []netip.AddrPort, ttl time.Duration) error {
	for _, d := range dests {
		f.opened = append(f.opened, fmt.Sprintf("%s %s %s", tap, d, ttl))
	}
	return nil
}
func (f *fakeNet) RouteDNS(context.Context, network.Config) error {
	f.routed++
	return fmt.Errorf("%w: not in this test", dns.ErrNoResolved)
}

// dnsTestServer is a daemon whose DNS server binds loopback instead of
// the bridge, with a fake network.
func dnsTestServer(t *testing.T) (*Manager, *fakeNet) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "banger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fn := &fakeNet{}
	cfg := &config.Config{BridgeName: config.DefaultBridgeName, BridgeSubnet: config.DefaultBridgeSubnet}
	s := New(Options{Store: st, Config: func() *config.Config { return cfg }, Log: slog.New(slog.DiscardHandler), Network: fn})
	s.net.dns.listen = func(netip.Addr) string { return "127.0.0.1:0" }
	t.Cleanup(s.net.stopDNS)
	return s, fn
}

func newTestVM(t *testing.T, s *Manager, name string) store.VM {
	t.Helper()
	v := store.VM{Name: name, State: StateStarting, VMM: "qemu", VCPU: 1, MemoryMiB: 512, DiskBytes: 1 << 30, VID: newVID()}
	if err := s.store.CreateVM(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if err := s.net.attach(context.Background(), &v, false); err != nil {
		t.Fatal(err)
	}
	return v
}

// lookupVM asks the running DNS server for NAME.vm, as a client on the host.
func lookupVM(t *testing.T, s *Manager, name string) (rcode int, addr string) {
	t.Helper()
	s.net.dns.mu.Lock()
	srv := s.net.dns.srv
	s.net.dns.mu.Unlock()
	if srv == nil {
		t.Fatalf("no DNS server listening when asking for %s.vm", name)
	}
	m := new(miekg.Msg).SetQuestion(name+".vm.", miekg.TypeA)
	c := &miekg.Client{Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, srv.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Answer) == 1 {
		addr = r.Answer[0].(*miekg.A).A.String()
	}
	return r.Rcode, addr
}

func TestVMNamesFollowTheNetwork(t *testing.T) {
	s, fn := dnsTestServer(t)
	gw := netip.MustParseAddr("172.16.0.1")
	if got := s.net.guestResolvers(gw); slices.Contains(got, gw) {
		t.Errorf("before any VM, guests would use %v", got)
	}

	box := newTestVM(t, s, "box")
	peer := newTestVM(t, s, "peer")
	if rc, a := lookupVM(t, s, "box"); rc != miekg.RcodeSuccess || a != box.IP {
		t.Errorf("box.vm = %s %s, want %s", miekg.RcodeToString[rc], a, box.IP)
	}
	if rc, a := lookupVM(t, s, "peer"); rc != miekg.RcodeSuccess || a != peer.IP {
		t.Errorf("peer.vm = %s %s, want %s", miekg.RcodeToString[rc], a, peer.IP)
	}
	if got := s.net.guestResolvers(gw); !slices.Equal(got, []netip.Addr{gw}) {
		t.Errorf("with the server up, guests would use %v, want the gateway", got)
	}
	if fn.routed != 1 {
		t.Errorf("systemd-resolved asked %d times to route .vm, want once, when the server started", fn.routed)
	}

	// A stopped or deleted VM's name goes at once; the server stays up
	// for the other.
	s.net.release(context.Background(), &box)
	if rc, _ := lookupVM(t, s, "box"); rc != miekg.RcodeNameError {
		t.Errorf("box.vm after release = %s, want NXDOMAIN", miekg.RcodeToString[rc])
	}
	if rc, _ := lookupVM(t, s, "peer"); rc != miekg.RcodeSuccess {
		t.Errorf("peer.vm after box's release = %s", miekg.RcodeToString[rc])
	}

	// The last VM gone, the server closes with the bridge.
	s.net.release(context.Background(), &peer)
	s.net.dns.mu.Lock()
	up := s.net.dns.srv != nil
	s.net.dns.mu.Unlock()
	if up || fn.teardowns != 1 {
		t.Errorf("after the last VM: server up %v, teardowns %d; want closed and one teardown", up, fn.teardowns)
	}
	if got := s.net.dns.records.Snapshot(); len(got) != 0 {
		t.Errorf("names left after the last VM: %v", got)
	}
}
