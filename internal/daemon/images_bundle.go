package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"banger/internal/api"
	"banger/internal/bundle"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/store"
)

// getImageBundle streams an image (and its kernel) as a bundle.
func (s *server) getImageBundle(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	im, err := s.store.GetImage(ctx, r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	m := bundle.Manifest{Name: im.Name, Version: im.Digest, Description: im.Source,
		Files: []bundle.File{{Path: "rootfs.ext4", Role: bundle.RoleRootfs, SourcePath: im.RootfsPath}}}
	if im.Kernel != "" {
		k, err := s.store.GetKernel(ctx, im.Kernel)
		if err != nil {
			writeError(w, fmt.Errorf("kernel of image %s: %w", im.Name, err))
			return
		}
		m.Kernel = &bundle.KernelInfo{Name: k.Name, Version: k.Version}
		m.Files = append(m.Files, kernelFiles(k)...)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	open := func(path string) (io.ReadCloser, error) { return os.Open(path) }
	if err := bundle.Export(ctx, w, m, open, nil); err != nil {
		// The answer has begun; all we can do is cut it short, which the
		// client sees as a truncated download and discards.
		s.log.Warn("export failed", "image", im.Name, "err", err)
		panic(http.ErrAbortHandler)
	}
}

func kernelFiles(k store.Kernel) []bundle.File {
	var files []bundle.File
	add := func(name string, role bundle.Role, path string) {
		if path != "" {
			files = append(files, bundle.File{Path: "kernel/" + name, Role: role, SourcePath: path})
		}
	}
	if k.Path != k.VmlinuxPath {
		add("vmlinuz", bundle.RoleBzImage, k.Path)
	}
	add("vmlinux", bundle.RoleVmlinux, k.VmlinuxPath)
	add("initrd.img", bundle.RoleInitrd, k.InitrdPath)
	return files
}

func (s *server) postImportImage(w http.ResponseWriter, r *http.Request) {
	var req api.ImportImageRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	s.stream(w, r, func(ctx context.Context, prog progress.Func) (any, error) {
		im, err := s.importImage(ctx, req, prog)
		return imageToAPI(im), err
	})
}

// importImage unpacks a verified bundle, then registers its kernel (unless
// one of that name is here already) and its image.
func (s *server) importImage(ctx context.Context, req api.ImportImageRequest, prog progress.Func) (store.Image, error) {
	src := req.Source
	if err := os.MkdirAll(s.downloadCache(), 0o700); err != nil {
		return store.Image{}, fmt.Errorf("creating download cache: %w", err)
	}
	sum := sha256.Sum256([]byte(src))
	dest := filepath.Join(s.downloadCache(), "import-"+hex.EncodeToString(sum[:8]))
	os.RemoveAll(dest) // a leftover from an interrupted unpack
	m, err := bundle.Import(ctx, src, dest, bundle.ImportOptions{SHA256: req.SHA256, Progress: prog})
	if err != nil {
		return store.Image{}, err
	}
	defer os.RemoveAll(dest)
	defer s.pulls.lock("image/" + m.Name)()
	if _, err := s.store.GetImage(ctx, m.Name); err == nil {
		return store.Image{}, errdefs.AlreadyExists("image %q already exists: remove it with `banger image rm %s` before importing", m.Name, m.Name)
	}
	im := store.Image{Name: m.Name, Source: "bundle:" + src, Digest: m.Version}
	if m.Kernel != nil {
		if err := s.importKernel(ctx, m, src); err != nil {
			return store.Image{}, err
		}
		im.Kernel = m.Kernel.Name
	}
	return s.registerFile(ctx, im, m.Rootfs().SourcePath, true)
}

func (s *server) importKernel(ctx context.Context, m bundle.Manifest, src string) error {
	defer s.pulls.lock("kernel/" + m.Kernel.Name)()
	if _, err := s.store.GetKernel(ctx, m.Kernel.Name); err == nil {
		return nil
	}
	dir := s.kernelDir(m.Kernel.Name)
	if err := mustNotExist(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	rec := store.Kernel{Name: m.Kernel.Name, Version: m.Kernel.Version, Source: "bundle:" + src}
	moves := map[bundle.Role]*string{bundle.RoleBzImage: &rec.Path, bundle.RoleVmlinux: &rec.VmlinuxPath, bundle.RoleInitrd: &rec.InitrdPath}
	for role, field := range moves {
		f, ok := m.File(role)
		if !ok {
			continue
		}
		*field = filepath.Join(dir, filepath.Base(f.Path))
		if err := os.Rename(f.SourcePath, *field); err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("placing kernel file: %w", err)
		}
	}
	if rec.Path == "" {
		rec.Path = rec.VmlinuxPath
	}
	return s.commit(ctx, dir, func() error { return s.store.CreateKernel(ctx, rec) })
}
