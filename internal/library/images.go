package library

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/image"
	"banger/internal/kernel"
	"banger/internal/paths"
	"banger/internal/privilege"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmname"
)

// IsOCIRef tells registry references from catalog names, which have no
// '/' or ':'.
func IsOCIRef(name string) bool {
	return strings.HasPrefix(name, "oci://") || strings.ContainsAny(name, "/:@")
}

// pullCatalogImage builds a catalog image unless it is already here. Builds
// are cached by a hash of everything that goes into them (recipe, agent,
// kernel), so an unchanged recipe is never built twice.
func (l *Library) pullCatalogImage(ctx context.Context, name string, prog progress.Func) (store.Image, error) {
	entry, err := image.Lookup(name)
	if err != nil {
		return store.Image{}, err
	}
	defer l.locks.Lock("image/" + name)()
	if im, err := l.store.GetImage(ctx, name); err == nil {
		prog.Note("image", fmt.Sprintf("image %s is already here", name))
		return im, nil
	}
	k, err := l.PullKernel(ctx, entry.Recipe.Kernel, prog)
	if err != nil {
		return store.Image{}, fmt.Errorf("pulling kernel %s for image %s: %w", entry.Recipe.Kernel, name, err)
	}
	agentBin, err := paths.AgentBinary()
	if err != nil {
		return store.Image{}, err
	}
	agentSum, err := image.SHA256File(agentBin)
	if err != nil {
		return store.Image{}, err
	}
	registry := l.npmRegistry(ctx)
	hash := entry.Recipe.Hash(agentSum, k.Version, "mise-from-registry:"+strconv.FormatBool(registry != ""))
	cached := filepath.Join(l.dirs.BuildCache(), hash+".ext4")
	if _, err := os.Stat(cached); err != nil {
		if err := l.build(ctx, entry, k, agentBin, registry, cached, prog); err != nil {
			return store.Image{}, err
		}
	} else {
		prog.Note("build", "using the cached build "+hash)
	}
	return l.registerFile(ctx, store.Image{Name: name, Source: "catalog:" + name, Kernel: k.Name, Digest: hash}, cached, true)
}

func (l *Library) build(ctx context.Context, entry image.Entry, k store.Kernel, agentBin, registry, out string, prog progress.Func) error {
	work, done, err := l.scratch("build-")
	if err != nil {
		return err
	}
	defer done()
	for _, d := range []string{l.dirs.BuildCache(), l.dirs.DebCache()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("creating cache dir: %w", err)
		}
	}
	mirror, _ := l.mirror() // "" lets debootstrap use its own default
	_, err = image.Build(ctx, image.BuildOptions{
		Entry: entry, Mirror: mirror, Keyring: l.cfg().DebianKeyring, DebCache: l.dirs.DebCache(), WorkDir: work, Out: out,
		AgentBin: agentBin, ModulesDir: modulesDir(k), NPMRegistry: registry,
		Runner: privilege.Host{}, HTTP: http.DefaultClient, Progress: prog,
	})
	return err
}

// npmRegistry is where mise comes from: the config, else npm's own setting.
func (l *Library) npmRegistry(ctx context.Context) string {
	if l.cfg().NPMRegistry != "" {
		return l.cfg().NPMRegistry
	}
	out, err := exec.CommandContext(ctx, "npm", "config", "get", "registry").Output()
	if err != nil {
		return ""
	}
	return strings.TrimRight(strings.TrimSpace(string(out)), "/")
}

// registerFile places a rootfs file at the image's home (a hard link when
// link is set and possible, else a sparse copy) and records the image.
func (l *Library) registerFile(ctx context.Context, im store.Image, src string, link bool) (store.Image, error) {
	dir := l.dirs.ImageDir(im.Name)
	if err := mustNotExist(dir); err != nil {
		return store.Image{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return store.Image{}, fmt.Errorf("creating %s: %w", dir, err)
	}
	im.RootfsPath = filepath.Join(dir, paths.RootfsName)
	if err := placeFile(ctx, src, im.RootfsPath, link); err != nil {
		os.RemoveAll(dir)
		return store.Image{}, err
	}
	fi, err := os.Stat(im.RootfsPath)
	if err != nil {
		os.RemoveAll(dir)
		return store.Image{}, err
	}
	im.SizeBytes = fi.Size()
	return im, l.commit(ctx, dir, func() error { return l.store.CreateImage(ctx, im) })
}

func placeFile(ctx context.Context, src, dst string, link bool) error {
	if link && os.Link(src, dst) == nil {
		return nil
	}
	out, err := exec.CommandContext(ctx, "cp", "--sparse=always", "--reflink=auto", src, dst).CombinedOutput()
	if err != nil {
		return fmt.Errorf("copying %s: %v: %s", src, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// RegisterImage records a user's ext4 root filesystem as an image, copied
// into banger's state.
func (l *Library) RegisterImage(ctx context.Context, req api.RegisterImageRequest) (store.Image, error) {
	if err := vmname.ValidateResource("image", req.Name); err != nil {
		return store.Image{}, err
	}
	defer l.locks.Lock("image/" + req.Name)()
	if _, err := l.store.GetImage(ctx, req.Name); err == nil {
		return store.Image{}, errdefs.AlreadyExists("image %q already exists: pick another name or remove it with `banger image rm %s`", req.Name, req.Name)
	}
	if !filepath.IsAbs(req.Rootfs) {
		return store.Image{}, errdefs.InvalidArgument("rootfs path %q must be absolute", req.Rootfs)
	}
	if err := image.CheckExt4(req.Rootfs); err != nil {
		return store.Image{}, err
	}
	if req.Kernel != "" {
		if _, err := l.store.GetKernel(ctx, req.Kernel); err != nil {
			return store.Image{}, fmt.Errorf("kernel for image %s: %w", req.Name, err)
		}
	}
	return l.registerFile(ctx, store.Image{Name: req.Name, Source: "register:" + req.Rootfs, Kernel: req.Kernel}, req.Rootfs, false)
}

// ImageDetail is an image with what uses it and where its file is.
type ImageDetail struct {
	Image          store.Image
	AllocatedBytes int64
	UsedBy         []string
}

// ImageDetail returns image name, what uses it and the space it takes.
func (l *Library) ImageDetail(ctx context.Context, name string) (ImageDetail, error) {
	im, err := l.store.GetImage(ctx, name)
	if err != nil {
		return ImageDetail{}, err
	}
	users, err := l.UsersOf(ctx, im.Name, "")
	if err != nil {
		return ImageDetail{}, err
	}
	return ImageDetail{Image: im, AllocatedBytes: allocated(im.RootfsPath), UsedBy: users}, nil
}

// allocated is the disk space a file really takes (sparse files take less
// than their size).
func allocated(path string) int64 {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0
	}
	return st.Blocks * 512
}

// DeleteImage removes image name, unless a VM or snapshot uses it, with
// its warm templates and its build-cache link.
func (l *Library) DeleteImage(ctx context.Context, name string) error {
	return l.removeResource(ctx, "image", name, l.dirs.ImageDir(name), func(ctx context.Context) error {
		im, err := l.store.GetImage(ctx, name)
		if err != nil {
			return err
		}
		if err := l.refuseUsed(ctx, "image", name, name, ""); err != nil {
			return err
		}
		if l.imageRemoved != nil {
			if err := l.imageRemoved(name); err != nil {
				return fmt.Errorf("removing warm templates: %w", err)
			}
		}
		if im.Digest != "" {
			// The build cache keeps a second link to the rootfs; drop it so
			// removing an image frees its space.
			if err := os.Remove(filepath.Join(l.dirs.BuildCache(), im.Digest+".ext4")); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("removing cached build: %w", err)
			}
		}
		return nil
	}, l.store.DeleteImage)
}

// Catalog lists the catalog's images and kernels, each saying whether it
// is here.
func (l *Library) Catalog(ctx context.Context) []api.CatalogEntry {
	var out []api.CatalogEntry
	for _, e := range image.Catalog() {
		_, err := l.store.GetImage(ctx, e.Name)
		out = append(out, api.CatalogEntry{Kind: "image", Name: e.Name, Description: e.Description, Local: err == nil})
	}
	for _, e := range kernel.Catalog {
		_, err := l.store.GetKernel(ctx, e.Name)
		out = append(out, api.CatalogEntry{Kind: "kernel", Name: e.Name, Description: e.Description, Local: err == nil})
	}
	return out
}
