package daemon

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

func (s *server) postPullImage(w http.ResponseWriter, r *http.Request) {
	var req api.PullImageRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	s.stream(w, r, func(ctx context.Context, prog progress.Func) (any, error) {
		var im store.Image
		var err error
		if isOCIRef(req.Name) {
			im, err = s.pullOCI(ctx, req.Name, prog)
		} else {
			im, err = s.pullCatalogImage(ctx, req.Name, prog)
		}
		return imageToAPI(im), err
	})
}

// isOCIRef tells registry references from catalog names, which have no
// '/' or ':'.
func isOCIRef(name string) bool {
	return strings.HasPrefix(name, "oci://") || strings.ContainsAny(name, "/:@")
}

// pullCatalogImage builds a catalog image unless it is already here. Builds
// are cached by a hash of everything that goes into them (recipe, agent,
// kernel), so an unchanged recipe is never built twice.
func (s *server) pullCatalogImage(ctx context.Context, name string, prog progress.Func) (store.Image, error) {
	entry, err := image.Lookup(name)
	if err != nil {
		return store.Image{}, err
	}
	defer s.pulls.lock("image/" + name)()
	if im, err := s.store.GetImage(ctx, name); err == nil {
		prog.Note("image", fmt.Sprintf("image %s is already here", name))
		return im, nil
	}
	k, err := s.pullKernel(ctx, entry.Recipe.Kernel, prog)
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
	registry := s.npmRegistry(ctx)
	hash := entry.Recipe.Hash(agentSum, k.Version, "mise-from-registry:"+strconv.FormatBool(registry != ""))
	cached := filepath.Join(s.buildCache(), hash+".ext4")
	if _, err := os.Stat(cached); err != nil {
		if err := s.build(ctx, entry, k, agentBin, registry, cached, prog); err != nil {
			return store.Image{}, err
		}
	} else {
		prog.Note("build", "using the cached build "+hash)
	}
	return s.registerFile(ctx, store.Image{Name: name, Source: "catalog:" + name, Kernel: k.Name, Digest: hash}, cached, true)
}

func (s *server) build(ctx context.Context, entry image.Entry, k store.Kernel, agentBin, registry, out string, prog progress.Func) error {
	work, done, err := s.scratch("build-")
	if err != nil {
		return err
	}
	defer done()
	for _, d := range []string{s.buildCache(), s.debCache()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("creating cache dir: %w", err)
		}
	}
	mirror, _ := s.mirror() // "" lets debootstrap use its own default
	_, err = image.Build(ctx, image.BuildOptions{
		Entry: entry, Mirror: mirror, Keyring: s.config().DebianKeyring, DebCache: s.debCache(), WorkDir: work, Out: out,
		AgentBin: agentBin, ModulesDir: modulesDir(k), NPMRegistry: registry,
		Runner: privilege.Host{}, HTTP: http.DefaultClient, Progress: prog,
	})
	return err
}

// npmRegistry is where mise comes from: the config, else npm's own setting.
func (s *server) npmRegistry(ctx context.Context) string {
	if s.config().NPMRegistry != "" {
		return s.config().NPMRegistry
	}
	out, err := exec.CommandContext(ctx, "npm", "config", "get", "registry").Output()
	if err != nil {
		return ""
	}
	return strings.TrimRight(strings.TrimSpace(string(out)), "/")
}

// registerFile places a rootfs file at the image's home (a hard link when
// link is set and possible, else a sparse copy) and records the image.
func (s *server) registerFile(ctx context.Context, im store.Image, src string, link bool) (store.Image, error) {
	dir := s.imageDir(im.Name)
	if err := mustNotExist(dir); err != nil {
		return store.Image{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return store.Image{}, fmt.Errorf("creating %s: %w", dir, err)
	}
	im.RootfsPath = filepath.Join(dir, "rootfs.ext4")
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
	return im, s.commit(ctx, dir, func() error { return s.store.CreateImage(ctx, im) })
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

func (s *server) postRegisterImage(w http.ResponseWriter, r *http.Request) {
	var req api.RegisterImageRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	im, err := s.registerImage(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, imageToAPI(im))
}

func (s *server) registerImage(ctx context.Context, req api.RegisterImageRequest) (store.Image, error) {
	if err := vmname.ValidateResource("image", req.Name); err != nil {
		return store.Image{}, err
	}
	defer s.pulls.lock("image/" + req.Name)()
	if _, err := s.store.GetImage(ctx, req.Name); err == nil {
		return store.Image{}, errdefs.AlreadyExists("image %q already exists: pick another name or remove it with `banger image rm %s`", req.Name, req.Name)
	}
	if !filepath.IsAbs(req.Rootfs) {
		return store.Image{}, errdefs.InvalidArgument("rootfs path %q must be absolute", req.Rootfs)
	}
	if err := image.CheckExt4(req.Rootfs); err != nil {
		return store.Image{}, err
	}
	if req.Kernel != "" {
		if _, err := s.store.GetKernel(ctx, req.Kernel); err != nil {
			return store.Image{}, fmt.Errorf("kernel for image %s: %w", req.Name, err)
		}
	}
	return s.registerFile(ctx, store.Image{Name: req.Name, Source: "register:" + req.Rootfs, Kernel: req.Kernel}, req.Rootfs, false)
}

func (s *server) getImage(w http.ResponseWriter, r *http.Request) {
	im, err := s.store.GetImage(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	users, err := s.usersOf(r.Context(), im.Name, "")
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.ImageDetail{Image: imageToAPI(im), RootfsPath: im.RootfsPath, AllocatedBytes: allocated(im.RootfsPath), Digest: im.Digest, UsedBy: users, Templates: s.templatesOf(im.Name)})
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

func (s *server) deleteImage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := s.removeResource(r.Context(), "image", name, s.imageDir(name), func(ctx context.Context) error {
		im, err := s.store.GetImage(ctx, name)
		if err != nil {
			return err
		}
		if err := s.refuseUsed(ctx, "image", name, name, ""); err != nil {
			return err
		}
		if err := s.removeTemplates(name); err != nil {
			return fmt.Errorf("removing warm templates: %w", err)
		}
		if im.Digest != "" {
			// The build cache keeps a second link to the rootfs; drop it so
			// removing an image frees its space.
			if err := os.Remove(filepath.Join(s.buildCache(), im.Digest+".ext4")); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("removing cached build: %w", err)
			}
		}
		return nil
	}, s.store.DeleteImage)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *server) getCatalog(w http.ResponseWriter, r *http.Request) {
	var out []api.CatalogEntry
	for _, e := range image.Catalog() {
		_, err := s.store.GetImage(r.Context(), e.Name)
		out = append(out, api.CatalogEntry{Kind: "image", Name: e.Name, Description: e.Description, Local: err == nil})
	}
	for _, e := range kernel.Catalog {
		_, err := s.store.GetKernel(r.Context(), e.Name)
		out = append(out, api.CatalogEntry{Kind: "kernel", Name: e.Name, Description: e.Description, Local: err == nil})
	}
	writeJSON(w, http.StatusOK, out)
}
