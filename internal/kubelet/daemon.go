package kubelet

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/progress"
)

// Daemon is what the provider needs from bangerd. Client adapts the API
// client to it; the tests keep VMs in memory instead. Errors carry
// errdefs kinds.
type Daemon interface {
	ListVMs(ctx context.Context, labels ...string) ([]api.VM, error)
	GetVM(ctx context.Context, name string) (api.VM, error)
	CreateVM(ctx context.Context, req api.CreateVMRequest, prog progress.Func) (api.VM, error)
	DeleteVM(ctx context.Context, name string) error
	ListImages(ctx context.Context) ([]api.Image, error)
	PullImage(ctx context.Context, ref string, prog progress.Func) (api.Image, error)
	WriteFile(ctx context.Context, vm string, req api.WriteFileRequest, data []byte) error
	ReadFile(ctx context.Context, vm, path string, limit int64) ([]byte, error)
	StartSession(ctx context.Context, vm string, req api.StartSessionRequest) (api.Session, error)
	ListSessions(ctx context.Context, vm string) ([]api.Session, error)
	KillSession(ctx context.Context, vm, session, signal string) (api.Session, error)
	SessionLogs(ctx context.Context, vm, session string, follow bool, w io.Writer) error
	Exec(ctx context.Context, vm string, req api.ExecRequest) (Process, error)
}

// Process is one command run through a guest agent, as client.ProcessConn
// streams it.
type Process interface {
	Stdin(b []byte) error
	CloseStdin() error
	Resize(rows, cols uint16) error
	Next() (client.Output, error)
	Close() error
}

// Client is the Daemon behind bangerd's API socket.
type Client struct{ C *client.Client }

var _ Daemon = Client{}

func (c Client) ListVMs(ctx context.Context, labels ...string) ([]api.VM, error) {
	return c.C.ListVMs(ctx, labels...)
}

func (c Client) GetVM(ctx context.Context, name string) (api.VM, error) { return c.C.GetVM(ctx, name) }

func (c Client) CreateVM(ctx context.Context, req api.CreateVMRequest, prog progress.Func) (api.VM, error) {
	return c.C.CreateVM(ctx, req, prog)
}

func (c Client) DeleteVM(ctx context.Context, name string) error {
	return c.C.DeleteVM(ctx, name, true)
}

func (c Client) ListImages(ctx context.Context) ([]api.Image, error) { return c.C.Images().List(ctx) }

func (c Client) PullImage(ctx context.Context, ref string, prog progress.Func) (api.Image, error) {
	return c.C.Images().Pull(ctx, ref, prog)
}

func (c Client) WriteFile(ctx context.Context, vm string, req api.WriteFileRequest, data []byte) error {
	_, err := client.Files{Client: c.C, VM: vm}.Write(ctx, req, bytes.NewReader(data))
	return err
}

// ReadFile reads a guest file of at most limit bytes.
func (c Client) ReadFile(ctx context.Context, vm, path string, limit int64) ([]byte, error) {
	r, f, err := client.Files{Client: c.C, VM: vm}.Read(ctx, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if f.Size > limit {
		return nil, fmt.Errorf("reading %s: %d bytes, more than %d", path, f.Size, limit)
	}
	return io.ReadAll(io.LimitReader(r, limit))
}

func (c Client) StartSession(ctx context.Context, vm string, req api.StartSessionRequest) (api.Session, error) {
	return c.C.StartSession(ctx, vm, req)
}

func (c Client) ListSessions(ctx context.Context, vm string) ([]api.Session, error) {
	return c.C.ListSessions(ctx, vm)
}

func (c Client) KillSession(ctx context.Context, vm, session, signal string) (api.Session, error) {
	return c.C.KillSession(ctx, vm, session, signal)
}

func (c Client) SessionLogs(ctx context.Context, vm, session string, follow bool, w io.Writer) error {
	return c.C.SessionLogs(ctx, vm, session, follow, w)
}

func (c Client) Exec(ctx context.Context, vm string, req api.ExecRequest) (Process, error) {
	return c.C.Exec(ctx, vm, req)
}
