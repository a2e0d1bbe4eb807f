package vm

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"banger/internal/agent"
	"banger/internal/errdefs"
	"banger/internal/network"
	"banger/internal/store"
	"banger/internal/vmm"
	"banger/internal/vmname"
)

// crashVMM is a driver whose VMMs are what the test says, by run dir: it
// records what the daemon does to them.
type crashVMM struct {
	mu      sync.Mutex
	states  map[string]vmm.State // by RunDir; missing is stopped
	killed  []string
	resumed []string
}

var (
	_ vmm.Driver      = (*crashVMM)(nil)
	_ vmm.Snapshotter = (*crashVMM)(nil)
)

func newCrashVMM() *crashVMM { return &crashVMM{states: map[string]vmm.State{}} }

func (d *crashVMM) set(runDir string, st vmm.State) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.states[runDir] = st
}

func (d *crashVMM) Name() string                                       { return "qemu" }
func (d *crashVMM) Start(context.Context, vmm.Spec) (vmm.Info, error)  { return vmm.Info{}, nil }
func (d *crashVMM) Attach(context.Context, vmm.Spec) (vmm.Info, error) { return vmm.Info{}, nil }
func (d *crashVMM) Stop(ctx context.Context, spec vmm.Spec, _ time.Duration) error {
	return d.Kill(ctx, spec)
}

func (d *crashVMM) Kill(_ context.Context, spec vmm.Spec) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st, ok := d.states[spec.RunDir]; ok && st != vmm.StateStopped {
		d.killed = append(d.killed, spec.RunDir)
	}
	d.states[spec.RunDir] = vmm.StateStopped
	return nil
}

func (d *crashVMM) Wait(ctx context.Context, spec vmm.Spec) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if st, _ := d.State(ctx, spec); st == vmm.StateStopped {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (d *crashVMM) State(_ context.Context, spec vmm.Spec) (vmm.State, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st, ok := d.states[spec.RunDir]; ok {
		return st, nil
	}
	return vmm.StateStopped, nil
}

func (d *crashVMM) SaveState(context.Context, vmm.Spec, string) error { return nil }
func (d *crashVMM) Restore(context.Context, vmm.Spec, string) (vmm.Info, error) {
	return vmm.Info{}, nil
}

func (d *crashVMM) Resume(_ context.Context, spec vmm.Spec) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.resumed = append(d.resumed, spec.RunDir)
	d.states[spec.RunDir] = vmm.StateRunning
	return nil
}

func (d *crashVMM) record() (killed, resumed []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.killed), slices.Clone(d.resumed)
}

// tapNet is a network.Client that keeps the taps and the bridge in memory.
type tapNet struct {
	mu        sync.Mutex
	bridge    bool
	taps      []string
	teardowns int
}

var _ network.Client = (*tapNet)(nil)

func (n *tapNet) SetPolicy(context.Context, network.Config, network.Guest, network.Policy) error {
	return nil
}

func (n *tapNet) AllowResolved(context.Context, network.Config, string, []netip.AddrPort, time.Duration) error {
	return nil
}

func (n *tapNet) EnsureBridge(context.Context, network.Config) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.bridge = true
	return nil
}

func (n *tapNet) EnsureTap(_ context.Context, _ network.Config, name string, _ int) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !slices.Contains(n.taps, name) {
		n.taps = append(n.taps, name)
	}
	return nil
}

func (n *tapNet) EnsureUnpluggedTap(ctx context.Context, c network.Config, name string, owner int) error {
	return n.EnsureTap(ctx, c, name, owner)
}

func (n *tapNet) DeleteTap(_ context.Context, name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.taps = slices.DeleteFunc(n.taps, func(t string) bool { return t == name })
	return nil
}

func (n *tapNet) Teardown(context.Context, network.Config) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.bridge, n.taps = false, nil
	n.teardowns++
	return nil
}

func (n *tapNet) RouteDNS(context.Context, network.Config) error {
	return errors.New("not in this test")
}

func (n *tapNet) state() (bool, []string, int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.bridge, slices.Clone(n.taps), n.teardowns
}

// crashServer is a daemon on temp dirs with a fake VMM driver and a fake
// network, as a daemon started after a crash finds its host.
func crashServer(t *testing.T) (*Manager, *crashVMM, *tapNet) {
	t.Helper()
	s, ctx := tempServer(t)
	s.base = ctx
	s.net.dns.listen = func(netip.Addr) string { return "127.0.0.1:0" }
	t.Cleanup(s.net.stopDNS)
	drv, tn := newCrashVMM(), &tapNet{}
	s.layout.drivers = map[string]vmm.Driver{"qemu": drv}
	s.net.client = tn
	return s, drv, tn
}

// serveAgent runs a guest agent on spec's agent socket (the host's
// hostname is its guest's name), until the test ends.
func serveAgent(t *testing.T, spec vmm.Spec) {
	t.Helper()
	if err := os.MkdirAll(spec.RunDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", spec.AgentSocket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	srv := agent.NewServer(agent.Options{SessionDir: t.TempDir(), PollInterval: 5 * time.Millisecond})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { srv.ServeConn(context.Background(), c); c.Close() }()
		}
	}()
}

// A template build holds a tap on the bridge: a VM that goes meanwhile
// must not tear the bridge down under it.
func TestBridgeStaysWhileATemplateHoldsATap(t *testing.T) {
	s, _, tn := crashServer(t)
	ctx := context.Background()
	runDir := filepath.Join(s.dirs.TemplateRunBase(), "0123456789abcdef")
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := recordTemplateBuild(runDir, templateBuild{VMM: "firecracker", Tap: "bg-t01234567"}); err != nil {
		t.Fatal(err)
	}
	tn.EnsureBridge(ctx, network.Config{})
	tn.EnsureTap(ctx, network.Config{}, "bg-t01234567", 0)
	v := store.VM{Name: "box", State: StateStarting, VMM: "qemu", VCPU: 1, MemoryMiB: 512, DiskBytes: 1 << 30, VID: newVID()}
	if err := s.store.CreateVM(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := s.net.attach(ctx, &v, false); err != nil {
		t.Fatal(err)
	}
	s.net.release(ctx, &v)
	if bridge, taps, _ := tn.state(); !bridge || !slices.Equal(taps, []string{"bg-t01234567"}) {
		t.Fatalf("after the only VM went: bridge %v, taps %q; want the bridge kept for the template's tap", bridge, taps)
	}
}

// A daemon killed during a template build and a snapshot leaves their
// guest running, a tap, half-written files and a .partial dir; the next
// start removes them all and keeps what was complete.
func TestRecoverTemplateBuildAndSnapshot(t *testing.T) {
	s, drv, tn := crashServer(t)
	ctx := context.Background()
	key := "0123456789abcdef"
	runDir := filepath.Join(s.dirs.TemplateRunBase(), key)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(runDir, 0o700))
	must(recordTemplateBuild(runDir, templateBuild{VMM: "qemu", Tap: templateTapName(key), Dir: filepath.Join(s.dirs.TemplatesDir(), key)}))
	drv.set(runDir, vmm.StateRunning)
	tn.EnsureBridge(ctx, network.Config{})
	tn.EnsureTap(ctx, network.Config{}, templateTapName(key), 0)
	half := filepath.Join(s.dirs.TemplatesDir(), key)
	must(os.MkdirAll(half, 0o700))
	must(os.WriteFile(filepath.Join(half, "upper.ext4"), []byte("half"), 0o600))
	writeTemplate(t, filepath.Join(s.dirs.TemplatesDir(), "fedcba9876543210"), TemplateInfo{Format: templateFormat, Key: "fedcba9876543210", Image: "deb"}, true)
	partial := filepath.Join(s.dirs.SnapshotsDir(), ".snap1.partial")
	must(os.MkdirAll(partial, 0o700))
	must(os.WriteFile(filepath.Join(partial, snapshotState), []byte("half"), 0o600))
	must(os.MkdirAll(s.dirs.SnapshotDir("snap0"), 0o700))

	s.Recover(ctx)

	if killed, _ := drv.record(); !slices.Equal(killed, []string{runDir}) {
		t.Errorf("VMMs killed: %q, want the template guest's", killed)
	}
	if bridge, taps, _ := tn.state(); bridge || len(taps) > 0 {
		t.Errorf("after recovery: bridge %v, taps %q; want neither", bridge, taps)
	}
	for _, p := range []string{runDir, half, partial} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left (%v)", p, err)
		}
	}
	if got := s.templates.list(""); len(got) != 1 {
		t.Errorf("complete templates after recovery: %+v, want the one", got)
	}
	if _, err := os.Stat(s.dirs.SnapshotDir("snap0")); err != nil {
		t.Errorf("a complete snapshot went: %v", err)
	}
}

// After a crash every VM ends running, stopped or gone: one paused by a
// snapshot runs on; one being created is removed unless its guest is up
// under its own name; one being started is stopped unless its guest
// answers.
func TestAdoptAfterCrash(t *testing.T) {
	t.Setenv("BANGER_READY_TIMEOUT", "1s")
	s, drv, tn := crashServer(t)
	ctx := context.Background()
	host, _ := os.Hostname()
	type want struct {
		vmmState vmm.State
		agent    bool
		state    string // "" for gone
		killed   bool
	}
	cases := map[string]want{
		"paused":   {vmm.StatePaused, false, StateRunning, false},
		"made":     {vmm.StateStopped, false, "", false},
		"booted":   {vmm.StateStopped, false, StateStopped, false},
		"stuck":    {vmm.StateRunning, false, StateStopped, true},
		"stranger": {vmm.StateRunning, true, "", true},
		"restored": {vmm.StatePaused, true, "", true},
	}
	states := map[string]string{"paused": StateRunning, "made": StateCreating, "booted": StateStarting, "stuck": StateStarting, "stranger": StateCreating, "restored": StateCreating}
	if vmname.Validate(host) == nil && cases[host] == (want{}) {
		cases[host] = want{vmm.StateRunning, true, StateRunning, false}
		states[host] = StateCreating
	}
	i := 0
	for name, w := range cases {
		i++
		v := store.VM{Name: name, State: states[name], VMM: "qemu", VCPU: 1, MemoryMiB: 512, DiskBytes: 1 << 30, VID: newVID(),
			Tap: "tap-" + name, IP: netip.AddrFrom4([4]byte{172, 30, 0, byte(10 + i)}).String()}
		if err := s.store.CreateVM(ctx, v); err != nil {
			t.Fatal(err)
		}
		tn.EnsureTap(ctx, network.Config{}, v.Tap, 0)
		if err := os.MkdirAll(s.layout.vmDir(name), 0o700); err != nil {
			t.Fatal(err)
		}
		spec := s.layout.runSpec(v)
		drv.set(spec.RunDir, w.vmmState)
		if w.agent {
			serveAgent(t, spec)
		}
	}

	s.Adopt(ctx)

	settled := func() bool {
		for name, w := range cases {
			v, err := s.store.GetVM(ctx, name)
			if w.state == "" && errdefs.KindOf(err) != errdefs.KindNotFound || w.state != "" && v.State != w.state {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(20 * time.Second)
	for !settled() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	killed, resumed := drv.record()
	_, taps, _ := tn.state()
	for name, w := range cases {
		v, err := s.store.GetVM(ctx, name)
		switch {
		case w.state == "" && errdefs.KindOf(err) != errdefs.KindNotFound:
			t.Errorf("%s: %s (%v), want it removed", name, v.State, err)
		case w.state != "" && v.State != w.state:
			t.Errorf("%s: %q (%v), want %s", name, v.State, err, w.state)
		}
		if got := slices.Contains(killed, s.layout.runSpec(store.VM{VID: v.VID}).RunDir); w.killed && err == nil && !got {
			t.Errorf("%s: its VMM was not killed", name)
		}
		if w.state == "" {
			if _, err := os.Stat(s.layout.vmDir(name)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: its disks are left (%v)", name, err)
			}
		}
		if has := slices.Contains(taps, "tap-"+name); has != (w.state == StateRunning) {
			t.Errorf("%s (%s): has its tap %v", name, w.state, has)
		}
	}
	if len(killed) != 3 {
		t.Errorf("VMMs killed: %q, want stuck's, stranger's and restored's", killed)
	}
	if len(resumed) != 1 {
		t.Errorf("VMMs resumed: %q, want paused's", resumed)
	}
}
