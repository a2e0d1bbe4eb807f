package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/progress"
)

// fakeBackend keeps VMs in memory. Start and create wait on gate when it
// is set, so a test can look at the pending state.
type fakeBackend struct {
	mu       sync.Mutex
	vms      map[string]api.VM
	sessions []api.Session
	snaps    []api.Snapshot
	pulled   []api.Image // images pulled through PullImage
	console  string      // path returned by ConsoleLog
	warning  string      // returned by ConfigWarning
	gate     chan struct{}
	calls    []string
}

func newFake(vms ...api.VM) *fakeBackend {
	f := &fakeBackend{vms: map[string]api.VM{}}
	for _, v := range vms {
		f.vms[v.Name] = v
	}
	return f
}

func (f *fakeBackend) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeBackend) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeBackend) ListVMs(ctx context.Context) ([]api.VM, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.VM
	for _, v := range f.vms {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b api.VM) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (f *fakeBackend) GetVM(ctx context.Context, name string) (api.VM, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vms[name]
	if !ok {
		return v, errdefs.NotFound("no VM named %s", name)
	}
	return v, nil
}

func (f *fakeBackend) ListImages(ctx context.Context) ([]api.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.Image{{Name: "debian-bookworm", Source: "catalog", Kernel: "debian-6.1-cloud", SizeBytes: 1 << 30}}, f.pulled...), nil
}

func (f *fakeBackend) Catalog(ctx context.Context) []api.CatalogEntry {
	return []api.CatalogEntry{
		{Kind: "image", Name: "debian-bookworm", Description: "Debian 12", Local: true},
		{Kind: "image", Name: "alpine-3", Description: "Alpine Linux"},
		{Kind: "kernel", Name: "debian-6.1-cloud", Description: "a kernel"},
	}
}

// PullImage waits on gate, then adds the image; "nosuch" is not found.
func (f *fakeBackend) PullImage(ctx context.Context, name string, prog progress.Func) error {
	f.record("pull " + name)
	prog.Step("downloading " + name)
	if err := f.wait(ctx); err != nil {
		return err
	}
	if name == "nosuch" {
		return errdefs.NotFound("no image named nosuch in the catalog")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pulled = append(f.pulled, api.Image{Name: name, Source: "catalog", SizeBytes: 2 << 30})
	return nil
}

func (f *fakeBackend) ListSnapshots(ctx context.Context) ([]api.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.snaps), nil
}

func (f *fakeBackend) ListKernels(ctx context.Context) ([]api.Kernel, error) {
	return []api.Kernel{{Name: "debian-6.1-cloud", Version: "6.1.0-1", Source: "catalog"}}, nil
}

func (f *fakeBackend) ListSessions(ctx context.Context, vm string) ([]api.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.Session
	for _, s := range f.sessions {
		if s.VM == vm {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakeBackend) Defaults(ctx context.Context) (api.CreateVMRequest, error) {
	return api.CreateVMRequest{Image: "debian-bookworm", VCPU: 1, MemoryMiB: 1024, DiskBytes: 8 << 30}, nil
}

func (f *fakeBackend) wait(ctx context.Context) error {
	if f.gate == nil {
		return nil
	}
	select {
	case <-f.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeBackend) CreateVM(ctx context.Context, req api.CreateVMRequest, prog progress.Func) error {
	f.record("create " + req.Name)
	prog.Step("pulling image " + req.Image)
	if err := f.wait(ctx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vms[req.Name] = api.VM{Name: req.Name, State: "running", Image: req.Image, VMM: "qemu", VCPU: req.VCPU, MemoryMiB: req.MemoryMiB, DiskBytes: req.DiskBytes}
	return nil
}

func (f *fakeBackend) StartVM(ctx context.Context, name string, prog progress.Func) error {
	f.record("start " + name)
	prog.Step("waiting for the guest (tcg)")
	if err := f.wait(ctx); err != nil {
		return err
	}
	return f.setState(name, "running")
}

func (f *fakeBackend) RestartVM(ctx context.Context, name string, prog progress.Func) error {
	f.record("restart " + name)
	prog.Step("stopping " + name)
	if err := f.wait(ctx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vms[name]
	if !ok {
		return errdefs.NotFound("no VM named %s", name)
	}
	v.State, v.LastError = "running", ""
	f.vms[name] = v
	return nil
}

func (f *fakeBackend) StopVM(ctx context.Context, name string) error {
	f.record("stop " + name)
	return f.setState(name, "stopped")
}

func (f *fakeBackend) setState(name, state string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vms[name]
	if !ok {
		return errdefs.NotFound("no VM named %s", name)
	}
	v.State, v.LastError = state, "" // as a start or stop that worked
	f.vms[name] = v
	return nil
}

func (f *fakeBackend) DeleteVM(ctx context.Context, name string, force bool) error {
	f.record("delete " + name)
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vms[name]
	if !ok {
		return errdefs.NotFound("no VM named %s", name)
	}
	if v.State != "stopped" && !force {
		return errdefs.FailedPrecondition("VM %s is running", name)
	}
	delete(f.vms, name)
	return nil
}

func (f *fakeBackend) ConfigWarning() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.warning
}

func (f *fakeBackend) ConsoleLog(ctx context.Context, name string) (string, error) {
	if _, err := f.GetVM(ctx, name); err != nil {
		return "", err
	}
	return f.console, nil
}

// uiAddr is the address the tests' server is configured with.
const uiAddr = "127.0.0.1:7777"

func newTestServer(t *testing.T, b Backend) *Server {
	t.Helper()
	s, err := New(Options{Backend: b, Addr: uiAddr})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// post makes a same-origin form POST, as the UI's own pages send it.
func post(s *Server, path string, form url.Values) *httptest.ResponseRecorder {
	if form == nil {
		form = url.Values{}
	}
	if !form.Has(csrfField) {
		form.Set(csrfField, s.csrf)
	}
	r := httptest.NewRequest(http.MethodPost, "http://"+uiAddr+path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "http://"+uiAddr)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

func get(s *Server, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "http://"+uiAddr+path, nil)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

// eventually retries check until it returns "" or the deadline passes.
func eventually(t *testing.T, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
