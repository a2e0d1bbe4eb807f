package e2b

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"banger/internal/e2b/apikey"
	"banger/internal/errdefs"
)

// fakeVMs stands in for the VM manager: VMs in a map, calls recorded.
type fakeVMs struct {
	mu        sync.Mutex
	vms       map[string]VM
	snapshots map[string]VM
	creates   []CreateSpec
	calls     []string
	createErr error
	stats     Stats
}

func newFakeVMs() *fakeVMs {
	return &fakeVMs{vms: map[string]VM{}, snapshots: map[string]VM{}}
}

func (f *fakeVMs) call(s string) { f.calls = append(f.calls, s) }

func (f *fakeVMs) Create(_ context.Context, spec CreateSpec) (VM, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creates = append(f.creates, spec)
	if f.createErr != nil {
		return VM{}, f.createErr
	}
	v := VM{Name: spec.Name, State: StateRunning, IP: "127.0.0.1", VCPU: 2, MemoryMiB: 1024, DiskBytes: 4 << 30,
		Network: spec.Network, Labels: maps.Clone(spec.Labels), ExpiresAt: spec.ExpiresAt, CreatedAt: time.Now()}
	if spec.FromSnapshot != "" {
		if _, ok := f.snapshots[spec.FromSnapshot]; !ok {
			return VM{}, errdefs.NotFound("no snapshot %s", spec.FromSnapshot)
		}
	}
	f.vms[spec.Name] = v
	return v, nil
}

func (f *fakeVMs) Get(_ context.Context, name string) (VM, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vms[name]
	if !ok {
		return VM{}, errdefs.NotFound("no VM %s", name)
	}
	return v, nil
}

func (f *fakeVMs) List(context.Context) ([]VM, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []VM
	for _, v := range f.vms {
		out = append(out, v)
	}
	return out, nil
}

func (f *fakeVMs) Delete(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("delete " + name)
	if _, ok := f.vms[name]; !ok {
		return errdefs.NotFound("no VM %s", name)
	}
	delete(f.vms, name)
	return nil
}

// update applies fn to VM name.
func (f *fakeVMs) update(name, what string, fn func(*VM)) (VM, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call(what + " " + name)
	v, ok := f.vms[name]
	if !ok {
		return VM{}, errdefs.NotFound("no VM %s", name)
	}
	fn(&v)
	f.vms[name] = v
	return v, nil
}

func (f *fakeVMs) SetExpiry(_ context.Context, name string, at time.Time) (VM, error) {
	return f.update(name, "expiry", func(v *VM) { v.ExpiresAt = at })
}

func (f *fakeVMs) SetNetwork(_ context.Context, name, policy string) (VM, error) {
	return f.update(name, "network", func(v *VM) { v.Network = policy })
}

func (f *fakeVMs) Suspend(_ context.Context, name string) (VM, error) {
	return f.update(name, "suspend", func(v *VM) { v.State = StateSuspended })
}

func (f *fakeVMs) Start(_ context.Context, name string) (VM, error) {
	return f.update(name, "start", func(v *VM) { v.State = StateRunning })
}

func (f *fakeVMs) Stop(_ context.Context, name string) (VM, error) {
	return f.update(name, "stop", func(v *VM) { v.State = StateStopped })
}

func (f *fakeVMs) Stats(context.Context, string) (Stats, error) { return f.stats, nil }

func (f *fakeVMs) Snapshot(_ context.Context, name, snap string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("snapshot " + name)
	f.snapshots[snap] = f.vms[name]
	return nil
}

func (f *fakeVMs) DeleteSnapshot(snap string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("snapshot-rm")
	delete(f.snapshots, snap)
	return nil
}

// fakeEnvd answers what it was asked for, and for which sandbox.
type fakeEnvd struct {
	mu        sync.Mutex
	forgotten []string
}

type envdKey struct{}

func (e *fakeEnvd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sb, _ := r.Context().Value(envdKey{}).(EnvdSandbox)
	writeJSON(w, http.StatusOK, map[string]any{"vm": sb.VM, "env": sb.Env, "path": r.URL.Path})
}

func (e *fakeEnvd) Forget(vm string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forgotten = append(e.forgotten, vm)
}

// rig is a server over fakes, with its API key.
type rig struct {
	s    *Server
	vms  *fakeVMs
	envd *fakeEnvd
	key  string
	url  string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "e2b-api-key")
	key, err := apikey.Secret.Ensure(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	g := &rig{vms: newFakeVMs(), envd: &fakeEnvd{}, key: key}
	g.s = New(Options{
		VMs: g.vms, Envd: g.envd, KeyFile: keyFile, StateDir: filepath.Join(dir, "e2b"),
		EnvdContext: func(ctx context.Context, s EnvdSandbox) context.Context { return context.WithValue(ctx, envdKey{}, s) },
		Log:         slog.New(slog.DiscardHandler),
	})
	ts := httptest.NewServer(g.s)
	t.Cleanup(ts.Close)
	g.url = ts.URL
	return g
}

// do sends a control-plane request with the API key; out, when set,
// receives the JSON answer.
func (g *rig) do(t *testing.T, method, path, body string, out any) *http.Response {
	t.Helper()
	return g.send(t, method, path, body, map[string]string{"X-API-KEY": g.key}, out)
}

func (g *rig) send(t *testing.T, method, path, body string, headers map[string]string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, g.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: answer %q is not JSON: %v", method, path, data, err)
		}
	}
	return resp
}

// create makes a sandbox through the API.
func (g *rig) create(t *testing.T, body string) sandbox {
	t.Helper()
	var sb sandbox
	if resp := g.do(t, "POST", "/v2/sandboxes", body, &sb); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create %s: status %d", body, resp.StatusCode)
	}
	return sb
}

// wantError checks an error answer: its status and the code the SDK reads.
func wantError(t *testing.T, resp *http.Response, e apiError, status int, msg string) {
	t.Helper()
	if resp.StatusCode != status || e.Code != status || !strings.Contains(e.Message, msg) {
		t.Errorf("got %d %+v, want %d with a message containing %q", resp.StatusCode, e, status, msg)
	}
}
