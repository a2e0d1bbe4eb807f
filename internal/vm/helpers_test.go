package vm

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"banger/internal/config"
	"banger/internal/paths"
	"banger/internal/paths/pathstest"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmm"
)

// tempDirs are banger's directories for one test.
func tempDirs(t *testing.T) paths.Dirs { return pathstest.Dirs(t) }

// tempServer makes a manager on temp dirs, with an empty store and the
// default config, whose watchers stop when the test ends.
func tempServer(t *testing.T) (*Manager, context.Context) {
	t.Helper()
	dirs := tempDirs(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := store.Open(ctx, dirs.Database())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := config.Default()
	return New(Options{
		Dirs: dirs, Store: st, Config: func() *config.Config { return cfg },
		Library: noLibrary{}, Log: slog.New(slog.DiscardHandler), Base: ctx,
	}), ctx
}

// onDirs is a manager that only knows its dirs, for the tests of files.
func onDirs(dirs paths.Dirs) *Manager {
	return New(Options{Dirs: dirs, Config: config.Default, Log: slog.New(slog.DiscardHandler)})
}

// noLibrary has no images or kernels.
type noLibrary struct{}

func (noLibrary) Resolve(context.Context, string, string, progress.Func) (store.Image, store.Kernel, error) {
	return store.Image{}, store.Kernel{}, os.ErrNotExist
}

// fakeVMM is a driver whose VMs are always running.
type fakeVMM struct{}

func (fakeVMM) Name() string                                        { return "qemu" }
func (fakeVMM) Start(context.Context, vmm.Spec) (vmm.Info, error)   { return vmm.Info{}, nil }
func (fakeVMM) Attach(context.Context, vmm.Spec) (vmm.Info, error)  { return vmm.Info{}, nil }
func (fakeVMM) Stop(context.Context, vmm.Spec, time.Duration) error { return nil }
func (fakeVMM) Kill(context.Context, vmm.Spec) error                { return nil }
func (fakeVMM) Wait(ctx context.Context, _ vmm.Spec) error          { <-ctx.Done(); return ctx.Err() }
func (fakeVMM) State(context.Context, vmm.Spec) (vmm.State, error)  { return vmm.StateRunning, nil }
