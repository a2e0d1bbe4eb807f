package kubecp_test

import (
	"context"
	"io"
	"sync"
	"time"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
	"banger/internal/kubelet"
	"banger/internal/progress"
)

// quickDaemon is a bangerd in memory for a kubelet: its VMs boot at
// once, their commands run until deleted, and every exec prints stdout
// and stderr and exits 0 straight away, as a quick command in a guest
// does.
type quickDaemon struct {
	stdout, stderr string

	mu  sync.Mutex
	vms map[string]api.VM
}

var _ kubelet.Daemon = (*quickDaemon)(nil)

func (d *quickDaemon) ListVMs(ctx context.Context, labels ...string) ([]api.VM, error) {
	return nil, nil
}

func (d *quickDaemon) GetVM(ctx context.Context, name string) (api.VM, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	vm, ok := d.vms[name]
	if !ok {
		return vm, errdefs.NotFound("no VM named %s", name)
	}
	return vm, nil
}

func (d *quickDaemon) CreateVM(ctx context.Context, req api.CreateVMRequest, prog progress.Func) (api.VM, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.vms == nil {
		d.vms = map[string]api.VM{}
	}
	vm := api.VM{Name: req.Name, State: "running", Image: req.Image, IP: "10.0.0.2", Labels: req.Labels}
	d.vms[req.Name] = vm
	return vm, nil
}

func (d *quickDaemon) DeleteVM(ctx context.Context, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.vms, name)
	return nil
}

func (d *quickDaemon) ListImages(ctx context.Context) ([]api.Image, error) {
	return []api.Image{{Name: "debian-bookworm", Source: "catalog"}}, nil
}

func (d *quickDaemon) PullImage(ctx context.Context, ref string, prog progress.Func) (api.Image, error) {
	return api.Image{Name: "debian-bookworm", Source: ref}, nil
}

func (d *quickDaemon) WriteFile(ctx context.Context, vm string, req api.WriteFileRequest, data []byte) error {
	return nil
}

func (d *quickDaemon) ReadFile(ctx context.Context, vm, path string, limit int64) ([]byte, error) {
	return nil, errdefs.NotFound("no file %s", path)
}

func (d *quickDaemon) StartSession(ctx context.Context, vm string, req api.StartSessionRequest) (api.Session, error) {
	return api.Session{VM: vm, Name: req.Name, Argv: req.Command, State: api.SessionRunning, Started: time.Now()}, nil
}

func (d *quickDaemon) ListSessions(ctx context.Context, vm string) ([]api.Session, error) {
	return []api.Session{{VM: vm, Name: "main", State: api.SessionRunning, Started: time.Now()}}, nil
}

func (d *quickDaemon) KillSession(ctx context.Context, vm, session, signal string) (api.Session, error) {
	return api.Session{}, errdefs.NotFound("no session %s", session)
}

func (d *quickDaemon) SessionLogs(ctx context.Context, vm, session string, follow bool, w io.Writer) error {
	return nil
}

func (d *quickDaemon) Exec(ctx context.Context, vm string, req api.ExecRequest) (kubelet.Process, error) {
	return &quickProcess{out: []client.Output{
		{Stdout: []byte(d.stdout)}, {Stderr: []byte(d.stderr)}, {Exit: &api.ExitStatus{}},
	}}, nil
}

// quickProcess replays its outputs.
type quickProcess struct{ out []client.Output }

func (p *quickProcess) Stdin(b []byte) error           { return nil }
func (p *quickProcess) CloseStdin() error              { return nil }
func (p *quickProcess) Resize(rows, cols uint16) error { return nil }
func (p *quickProcess) Close() error                   { return nil }

func (p *quickProcess) Next() (client.Output, error) {
	if len(p.out) == 0 {
		return client.Output{}, io.EOF
	}
	o := p.out[0]
	p.out = p.out[1:]
	return o, nil
}
