package library

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"banger/internal/api"
	"banger/internal/bundle"
	"banger/internal/errdefs"
	"banger/internal/paths"
	"banger/internal/progress"
	"banger/internal/store"
)

// ExportImage returns the writer of image name's bundle (with its
// kernel's files), or why it cannot be exported. A failure while writing
// leaves the bundle cut short, which an importer refuses.
func (l *Library) ExportImage(ctx context.Context, name string) (func(io.Writer) error, error) {
	im, err := l.store.GetImage(ctx, name)
	if err != nil {
		return nil, err
	}
	m := bundle.Manifest{Name: im.Name, Version: im.Digest, Description: im.Source,
		Files: []bundle.File{{Path: paths.RootfsName, Role: bundle.RoleRootfs, SourcePath: im.RootfsPath}}}
	if im.Kernel != "" {
		k, err := l.store.GetKernel(ctx, im.Kernel)
		if err != nil {
			return nil, fmt.Errorf("kernel of image %s: %w", im.Name, err)
		}
		m.Kernel = &bundle.KernelInfo{Name: k.Name, Version: k.Version}
		m.Files = append(m.Files, kernelFiles(k)...)
	}
	open := func(path string) (io.ReadCloser, error) { return os.Open(path) }
	return func(w io.Writer) error { return bundle.Export(ctx, w, m, open, nil) }, nil
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

// ImportImage unpacks a verified bundle, then registers its kernel (unless
// one of that name is here already) and its image.
func (l *Library) ImportImage(ctx context.Context, req api.ImportImageRequest, prog progress.Func) (store.Image, error) {
	src := req.Source
	if err := os.MkdirAll(l.dirs.DownloadCache(), 0o700); err != nil {
		return store.Image{}, fmt.Errorf("creating download cache: %w", err)
	}
	sum := sha256.Sum256([]byte(src))
	dest := filepath.Join(l.dirs.DownloadCache(), "import-"+hex.EncodeToString(sum[:8]))
	os.RemoveAll(dest) // a leftover from an interrupted unpack
	m, err := bundle.Import(ctx, src, dest, bundle.ImportOptions{SHA256: req.SHA256, Progress: prog})
	if err != nil {
		return store.Image{}, err
	}
	defer os.RemoveAll(dest)
	defer l.locks.Lock("image/" + m.Name)()
	if _, err := l.store.GetImage(ctx, m.Name); err == nil {
		return store.Image{}, errdefs.AlreadyExists("image %q already exists: remove it with `banger image rm %s` before importing", m.Name, m.Name)
	}
	im := store.Image{Name: m.Name, Source: "bundle:" + src, Digest: m.Version}
	if m.Kernel != nil {
		if err := l.importKernel(ctx, m, src); err != nil {
			return store.Image{}, err
		}
		im.Kernel = m.Kernel.Name
	}
	return l.registerFile(ctx, im, m.Rootfs().SourcePath, true)
}

func (l *Library) importKernel(ctx context.Context, m bundle.Manifest, src string) error {
	defer l.locks.Lock("kernel/" + m.Kernel.Name)()
	if _, err := l.store.GetKernel(ctx, m.Kernel.Name); err == nil {
		return nil
	}
	dir := l.dirs.KernelDir(m.Kernel.Name)
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
	return l.commit(ctx, dir, func() error { return l.store.CreateKernel(ctx, rec) })
}
