// Package vm is banger's VM manager: it creates, boots, stops, adopts and
// removes VMs, makes and restores warm templates and snapshots, and keeps
// each VM's network, DNS name and guest agent link. Every front-end (the
// API, the web UI) calls the same Manager.
//
// Create, boot, restore and snapshot are named lists of steps (see
// steps.go); a step that fails is named in the error, and the steps before
// it are undone in reverse order.
package vm

import (
	"context"
	"log/slog"
	"sync"

	"banger/internal/config"
	"banger/internal/keylock"
	"banger/internal/network"
	"banger/internal/paths"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmm"
)

// VM states as the store and the API report them.
const (
	StateCreating = "creating"
	StateStarting = "starting"
	StateRunning  = "running"
	StateStopped  = "stopped"
)

// Library finds images and kernels, pulling the ones that are not here.
type Library interface {
	Resolve(ctx context.Context, image, kernel string, prog progress.Func) (store.Image, store.Kernel, error)
}

// Options are a Manager's parts.
type Options struct {
	Dirs    paths.Dirs
	Store   *store.Store
	Config  func() *config.Config // the config in force, read at each use
	Library Library
	Network network.Client
	// Drivers replaces the VMM drivers by name, for tests; nil uses the
	// real ones.
	Drivers map[string]vmm.Driver
	Log     *slog.Logger
	// Base is the daemon's lifetime: VM watchers run until it ends.
	Base context.Context
}

// Manager owns the VMs. One lifecycle operation runs per VM at a time.
// Its parts each do one job: layout (where files live, which driver runs
// a VM, what it boots), net (addresses, taps, rules, .vm names), agents
// (links to guest agents), templates and snapshots (their stores).
type Manager struct {
	dirs      paths.Dirs
	store     *store.Store
	lib       Library
	log       *slog.Logger
	base      context.Context
	locks     keylock.Map // "vm/NAME"
	watchers  watchers
	layout    *layout
	net       *netAttach
	agents    *agentLinks
	templates *templateStore
	snapshots *snapshotStore
	suspends  suspends
	ports     *portForwards
	usage     usageSampler
	reaper    *reaper
}

// New returns the manager of o.Dirs. Call Recover, then Adopt (which
// starts deleting VMs as they expire), before serving requests, and
// Close when done.
func New(o Options) *Manager {
	base := o.Base
	if base == nil {
		base = context.Background()
	}
	lay := &layout{dirs: o.Dirs, cfg: o.Config, drivers: o.Drivers}
	nets := &netAttach{client: o.Network, store: o.Store, cfg: o.Config, log: o.Log}
	ts := &templateStore{dirs: o.Dirs, layout: lay, net: nets, log: o.Log}
	nets.buildTaps = ts.tapsInUse
	m := &Manager{
		dirs: o.Dirs, store: o.Store, lib: o.Library, log: o.Log, base: base,
		watchers: watchers{m: map[string]context.CancelFunc{}},
		layout:   lay, net: nets, templates: ts,
		agents:    &agentLinks{store: o.Store, layout: lay, log: o.Log},
		snapshots: &snapshotStore{dirs: o.Dirs, log: o.Log},
		ports:     newPortForwards(o.Store, o.Log),
	}
	m.reaper = newReaper(m)
	m.suspends = suspends{m}
	return m
}

// Close stops serving .vm names, forwarding ports and deleting expired
// VMs. VMs keep running.
func (m *Manager) Close() {
	m.reaper.stop()
	m.net.stopDNS()
	m.ports.closeAll()
}

// Get returns VM name.
func (m *Manager) Get(ctx context.Context, name string) (store.VM, error) {
	return m.store.GetVM(ctx, name)
}

// List returns every VM, by name.
func (m *Manager) List(ctx context.Context) ([]store.VM, error) { return m.store.ListVMs(ctx) }

// TapsInUse reports whether any VM holds a tap (or the store cannot say):
// the bridge's settings cannot change meanwhile.
func (m *Manager) TapsInUse(ctx context.Context) bool { return m.net.vmTapsInUse(ctx) }

func (m *Manager) lockVM(name string) func() { return m.locks.Lock("vm/" + name) }

// watchers holds the cancel function of each VM's watcher, by VM name.
type watchers struct {
	mu sync.Mutex
	m  map[string]context.CancelFunc
}

// set records name's watcher, ending the one it replaces.
func (w *watchers) set(name string, cancel context.CancelFunc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if old := w.m[name]; old != nil {
		old()
	}
	w.m[name] = cancel
}

// stop ends name's watcher, if it has one.
func (w *watchers) stop(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cancel := w.m[name]; cancel != nil {
		cancel()
		delete(w.m, name)
	}
}
