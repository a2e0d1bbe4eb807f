package client

import (
	"context"
	"net/http"
	"net/url"

	"banger/internal/api"
	"banger/internal/progress"
)

// Kernels are the daemon's kernel calls, as client.Kernels() gives them.
type Kernels struct{ c *Client }

// Kernels is the client's kernel calls.
func (c *Client) Kernels() Kernels { return Kernels{c} }

// List lists local kernels.
func (k Kernels) List(ctx context.Context) ([]api.Kernel, error) {
	var kernels []api.Kernel
	err := k.c.Do(ctx, http.MethodGet, "/kernels", nil, &kernels)
	return kernels, err
}

// Get describes one kernel.
func (k Kernels) Get(ctx context.Context, name string) (api.KernelDetail, error) {
	var d api.KernelDetail
	err := k.c.Do(ctx, http.MethodGet, "/kernels/"+url.PathEscape(name), nil, &d)
	return d, err
}

// Pull fetches a catalog kernel, reporting progress.
func (k Kernels) Pull(ctx context.Context, name string, prog progress.Func) (api.Kernel, error) {
	var out api.Kernel
	err := k.c.Stream(ctx, http.MethodPost, "/kernels/pull", api.PullKernelRequest{Name: name}, prog, &out)
	return out, err
}

// Register registers a user's kernel file.
func (k Kernels) Register(ctx context.Context, req api.RegisterKernelRequest) (api.Kernel, error) {
	var out api.Kernel
	err := k.c.Do(ctx, http.MethodPost, "/kernels", req, &out)
	return out, err
}

// Delete removes a kernel that no image or VM uses.
func (k Kernels) Delete(ctx context.Context, name string) error {
	return k.c.Do(ctx, http.MethodDelete, "/kernels/"+url.PathEscape(name), nil, nil)
}
