package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/config"
	"banger/internal/library"
	"banger/internal/paths"
	"banger/internal/paths/pathstest"
	"banger/internal/store"
	"banger/internal/vm"
	"banger/internal/vmm"
)

// testAPI is the API served on a unix socket over a real VM manager and
// library on temp dirs, whose VMMs are fakeVMM.
type testAPI struct {
	ctx    context.Context
	dirs   paths.Dirs
	store  *store.Store
	vms    *vm.Manager
	client *client.Client
}

func newTestAPI(t *testing.T) *testAPI {
	t.Helper()
	dirs := pathstest.Dirs(t)
	run := dirs.Runtime
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := store.Open(ctx, dirs.Database())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	cfg := config.Default()
	lib := library.New(library.Options{Dirs: dirs, Store: st, Config: func() *config.Config { return cfg }, Log: log})
	vms := vm.New(vm.Options{
		Dirs: dirs, Store: st, Config: func() *config.Config { return cfg }, Library: lib, Log: log, Base: ctx,
		Drivers: map[string]vmm.Driver{"qemu": fakeVMM{}},
	})
	t.Cleanup(vms.Close)
	srv := New(Options{VMs: vms, Guests: vms, Snapshots: vms, Library: lib, Daemon: fakeDaemon{}, Log: log, Ports: vms.Ports()})
	sock := filepath.Join(run, "api.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ConnContext: WithPeer, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return &testAPI{ctx: ctx, dirs: dirs, store: st, vms: vms, client: &client.Client{Socket: sock}}
}

// fakeDaemon is a daemon with the default config, always in force.
type fakeDaemon struct{}

func (fakeDaemon) Info(context.Context) (api.DaemonInfo, error) { return api.DaemonInfo{}, nil }
func (fakeDaemon) Shutdown()                                    {}
func (fakeDaemon) Refresh(context.Context) string               { return "" }
func (fakeDaemon) Defaults(context.Context) api.CreateVMRequest { return api.CreateVMRequest{} }
