package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"banger/internal/api"
	"banger/internal/progress"
)

// PullImage builds or fetches a catalog image, reporting progress.
func (c *Client) PullImage(ctx context.Context, name string, prog progress.Func) (api.Image, error) {
	var im api.Image
	err := c.Stream(ctx, http.MethodPost, "/images/pull", api.PullImageRequest{Name: name}, prog, &im)
	return im, err
}

// WarmImage makes (or finds) the warm template of an image at one size.
func (c *Client) WarmImage(ctx context.Context, name string, req api.WarmImageRequest, prog progress.Func) (api.WarmTemplate, error) {
	var t api.WarmTemplate
	err := c.Stream(ctx, http.MethodPost, "/images/"+url.PathEscape(name)+"/warm", req, prog, &t)
	return t, err
}

// ImportImage imports a bundle from a file or URL, reporting progress.
func (c *Client) ImportImage(ctx context.Context, req api.ImportImageRequest, prog progress.Func) (api.Image, error) {
	var im api.Image
	err := c.Stream(ctx, http.MethodPost, "/images/import", req, prog, &im)
	return im, err
}

// ExportImage writes an image's bundle to w.
func (c *Client) ExportImage(ctx context.Context, name string, w io.Writer) (int64, error) {
	return c.Download(ctx, "/images/"+url.PathEscape(name)+"/bundle", w)
}

// RegisterImage registers an existing ext4 rootfs.
func (c *Client) RegisterImage(ctx context.Context, req api.RegisterImageRequest) (api.Image, error) {
	var im api.Image
	err := c.Do(ctx, http.MethodPost, "/images", req, &im)
	return im, err
}

// GetImage describes one image.
func (c *Client) GetImage(ctx context.Context, name string) (api.ImageDetail, error) {
	var d api.ImageDetail
	err := c.Do(ctx, http.MethodGet, "/images/"+url.PathEscape(name), nil, &d)
	return d, err
}

// DeleteImage removes an image that no VM uses.
func (c *Client) DeleteImage(ctx context.Context, name string) error {
	return c.Do(ctx, http.MethodDelete, "/images/"+url.PathEscape(name), nil, nil)
}

// Catalog lists what banger can pull.
func (c *Client) Catalog(ctx context.Context) ([]api.CatalogEntry, error) {
	var entries []api.CatalogEntry
	err := c.Do(ctx, http.MethodGet, "/catalog", nil, &entries)
	return entries, err
}

// PullKernel fetches a catalog kernel, reporting progress.
func (c *Client) PullKernel(ctx context.Context, name string, prog progress.Func) (api.Kernel, error) {
	var k api.Kernel
	err := c.Stream(ctx, http.MethodPost, "/kernels/pull", api.PullKernelRequest{Name: name}, prog, &k)
	return k, err
}

// RegisterKernel registers a user's kernel file.
func (c *Client) RegisterKernel(ctx context.Context, req api.RegisterKernelRequest) (api.Kernel, error) {
	var k api.Kernel
	err := c.Do(ctx, http.MethodPost, "/kernels", req, &k)
	return k, err
}

// GetKernel describes one kernel.
func (c *Client) GetKernel(ctx context.Context, name string) (api.KernelDetail, error) {
	var d api.KernelDetail
	err := c.Do(ctx, http.MethodGet, "/kernels/"+url.PathEscape(name), nil, &d)
	return d, err
}

// DeleteKernel removes a kernel that no image or VM uses.
func (c *Client) DeleteKernel(ctx context.Context, name string) error {
	return c.Do(ctx, http.MethodDelete, "/kernels/"+url.PathEscape(name), nil, nil)
}

// SnapshotVM saves running VM name whole, reporting progress.
func (c *Client) SnapshotVM(ctx context.Context, name string, req api.SnapshotVMRequest, prog progress.Func) (api.Snapshot, error) {
	var sn api.Snapshot
	err := c.Stream(ctx, http.MethodPost, "/vms/"+url.PathEscape(name)+"/snapshot", req, prog, &sn)
	return sn, err
}

// ListSnapshots lists the saved snapshots, oldest first.
func (c *Client) ListSnapshots(ctx context.Context) ([]api.Snapshot, error) {
	var out []api.Snapshot
	err := c.Do(ctx, http.MethodGet, "/snapshots", nil, &out)
	return out, err
}

// GetSnapshot describes one snapshot.
func (c *Client) GetSnapshot(ctx context.Context, name string) (api.Snapshot, error) {
	var sn api.Snapshot
	err := c.Do(ctx, http.MethodGet, "/snapshots/"+url.PathEscape(name), nil, &sn)
	return sn, err
}

// DeleteSnapshot removes a snapshot and its files.
func (c *Client) DeleteSnapshot(ctx context.Context, name string) error {
	return c.Do(ctx, http.MethodDelete, "/snapshots/"+url.PathEscape(name), nil, nil)
}
