// Package library is banger's image and kernel library: it pulls catalog
// images and kernels, OCI images and bundles, registers a user's own files,
// exports images as bundles, and refuses to remove what something still
// uses. One pull, import or removal runs per name at a time.
package library

import (
	"context"
	"log/slog"

	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/keylock"
	"banger/internal/paths"
	"banger/internal/progress"
	"banger/internal/store"
)

// Users names what rests on an image or a kernel, outside the library:
// VMs and snapshots ("vm NAME", "snapshot NAME").
type Users func(ctx context.Context, image, kernel string) ([]string, error)

// Options are a Library's parts.
type Options struct {
	Dirs   paths.Dirs
	Store  *store.Store
	Config func() *config.Config // the config in force, read at each use
	Log    *slog.Logger
	// Users lists what outside the library uses an image or kernel; nil
	// counts only images.
	Users Users
	// ImageRemoved runs while an image is being removed, before its record
	// goes, to drop what was derived from it (warm templates).
	ImageRemoved func(name string) error
}

// Library is the image and kernel library.
type Library struct {
	dirs         paths.Dirs
	store        *store.Store
	cfg          func() *config.Config
	log          *slog.Logger
	users        Users
	imageRemoved func(name string) error
	locks        keylock.Map // "image/NAME", "kernel/NAME"
}

// New returns the library of o.Dirs.
func New(o Options) *Library {
	return &Library{dirs: o.Dirs, store: o.Store, cfg: o.Config, log: o.Log, users: o.Users, imageRemoved: o.ImageRemoved}
}

// Images lists the images, by name.
func (l *Library) Images(ctx context.Context) ([]store.Image, error) { return l.store.ListImages(ctx) }

// Kernels lists the kernels, by name.
func (l *Library) Kernels(ctx context.Context) ([]store.Kernel, error) {
	return l.store.ListKernels(ctx)
}

// Image returns image name.
func (l *Library) Image(ctx context.Context, name string) (store.Image, error) {
	return l.store.GetImage(ctx, name)
}

// Kernel returns kernel name.
func (l *Library) Kernel(ctx context.Context, name string) (store.Kernel, error) {
	return l.store.GetKernel(ctx, name)
}

// PullImage makes image name present: a catalog image is built (or found
// in the build cache), a registry reference pulled and flattened.
func (l *Library) PullImage(ctx context.Context, name string, prog progress.Func) (store.Image, error) {
	if IsOCIRef(name) {
		return l.pullOCI(ctx, name, prog)
	}
	return l.pullCatalogImage(ctx, name, prog)
}

// Resolve finds an image and its kernel (kernelName, else the image's
// own), pulling catalog ones and OCI references that are not here yet.
func (l *Library) Resolve(ctx context.Context, imageName, kernelName string, prog progress.Func) (store.Image, store.Kernel, error) {
	// A kernel named on the command line is found first: a typo there
	// should not wait for an image build.
	var k store.Kernel
	if kernelName != "" {
		var err error
		if k, err = l.resolveKernel(ctx, kernelName, prog); err != nil {
			return store.Image{}, store.Kernel{}, err
		}
	}
	im, err := l.store.GetImage(ctx, imageName)
	if errdefs.KindOf(err) == errdefs.KindNotFound {
		im, err = l.PullImage(ctx, imageName, prog)
	}
	if err != nil {
		return store.Image{}, store.Kernel{}, err
	}
	if kernelName != "" {
		return im, k, nil
	}
	if im.Kernel == "" {
		return store.Image{}, store.Kernel{}, errdefs.InvalidArgument("image %s names no kernel: pass --kernel (see `banger kernel list`)", im.Name)
	}
	k, err = l.resolveKernel(ctx, im.Kernel, prog)
	return im, k, err
}

// resolveKernel finds a kernel, pulling a catalog one that is not here.
func (l *Library) resolveKernel(ctx context.Context, name string, prog progress.Func) (store.Kernel, error) {
	k, err := l.store.GetKernel(ctx, name)
	if errdefs.KindOf(err) == errdefs.KindNotFound {
		k, err = l.PullKernel(ctx, name, prog)
	}
	return k, err
}
