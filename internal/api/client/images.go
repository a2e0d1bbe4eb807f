package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"banger/internal/api"
	"banger/internal/progress"
)

// Images are the daemon's image calls, as client.Images() gives them.
type Images struct{ c *Client }

// Images is the client's image calls.
func (c *Client) Images() Images { return Images{c} }

// List lists local images.
func (i Images) List(ctx context.Context) ([]api.Image, error) {
	var images []api.Image
	err := i.c.Do(ctx, http.MethodGet, "/images", nil, &images)
	return images, err
}

// Get describes one image.
func (i Images) Get(ctx context.Context, name string) (api.ImageDetail, error) {
	var d api.ImageDetail
	err := i.c.Do(ctx, http.MethodGet, "/images/"+url.PathEscape(name), nil, &d)
	return d, err
}

// Pull builds or fetches a catalog image, reporting progress.
func (i Images) Pull(ctx context.Context, name string, prog progress.Func) (api.Image, error) {
	var im api.Image
	err := i.c.Stream(ctx, http.MethodPost, "/images/pull", api.PullImageRequest{Name: name}, prog, &im)
	return im, err
}

// Warm makes (or finds) the warm template of an image at one size.
func (i Images) Warm(ctx context.Context, name string, req api.WarmImageRequest, prog progress.Func) (api.WarmTemplate, error) {
	var t api.WarmTemplate
	err := i.c.Stream(ctx, http.MethodPost, "/images/"+url.PathEscape(name)+"/warm", req, prog, &t)
	return t, err
}

// Import imports a bundle from a file or URL, reporting progress.
func (i Images) Import(ctx context.Context, req api.ImportImageRequest, prog progress.Func) (api.Image, error) {
	var im api.Image
	err := i.c.Stream(ctx, http.MethodPost, "/images/import", req, prog, &im)
	return im, err
}

// Export writes an image's bundle to w.
func (i Images) Export(ctx context.Context, name string, w io.Writer) (int64, error) {
	return i.c.Download(ctx, "/images/"+url.PathEscape(name)+"/bundle", w)
}

// Register registers an existing ext4 rootfs.
func (i Images) Register(ctx context.Context, req api.RegisterImageRequest) (api.Image, error) {
	var im api.Image
	err := i.c.Do(ctx, http.MethodPost, "/images", req, &im)
	return im, err
}

// Delete removes an image that no VM uses.
func (i Images) Delete(ctx context.Context, name string) error {
	return i.c.Do(ctx, http.MethodDelete, "/images/"+url.PathEscape(name), nil, nil)
}

// Catalog lists what banger can pull.
func (i Images) Catalog(ctx context.Context) ([]api.CatalogEntry, error) {
	var entries []api.CatalogEntry
	err := i.c.Do(ctx, http.MethodGet, "/catalog", nil, &entries)
	return entries, err
}
