package library

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/initramfs"
	"banger/internal/kernel"
	"banger/internal/paths"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vmname"
)

// PullKernel fetches a catalog kernel unless it is already here.
func (l *Library) PullKernel(ctx context.Context, name string, prog progress.Func) (store.Kernel, error) {
	entry, err := kernel.Lookup(name)
	if err != nil {
		return store.Kernel{}, err
	}
	defer l.locks.Lock("kernel/" + name)()
	if k, err := l.store.GetKernel(ctx, name); err == nil {
		prog.Note("kernel", fmt.Sprintf("kernel %s %s is already here", k.Name, k.Version))
		return k, nil
	}
	agentBin, err := paths.AgentBinary()
	if err != nil {
		return store.Kernel{}, err
	}
	mirror, err := l.mirror()
	if err != nil {
		return store.Kernel{}, err
	}
	dir := l.dirs.KernelDir(name)
	if err := mustNotExist(dir); err != nil {
		return store.Kernel{}, err
	}
	if err := os.MkdirAll(l.dirs.DownloadCache(), 0o700); err != nil {
		return store.Kernel{}, fmt.Errorf("creating download cache: %w", err)
	}
	k, err := kernel.Pull(ctx, kernel.PullOptions{
		Source:  kernel.Source{Mirror: mirror, Suite: entry.Suite, Keyring: l.cfg().DebianKeyring},
		Package: entry.Package, Name: name, Dir: dir, TmpDir: l.dirs.DownloadCache(),
		BuildInitrd: func(ctx context.Context, k kernel.Kernel, w io.Writer) error {
			return initramfs.Build(w, initramfs.Options{InitBinary: agentBin, ModulesDir: k.ModulesDir, Modules: initramfs.DefaultModules})
		},
		Progress: prog,
	})
	if err != nil {
		return store.Kernel{}, err
	}
	rec := store.Kernel{Name: name, Version: k.Version, Path: k.BzImage, VmlinuxPath: k.Vmlinux, InitrdPath: k.Initrd, Source: "catalog:" + name}
	return rec, l.commit(ctx, dir, func() error { return l.store.CreateKernel(ctx, rec) })
}

// commit registers a resource whose files are in dir, removing the files
// when the record cannot be written, so nothing is left half-registered.
func (l *Library) commit(ctx context.Context, dir string, create func() error) error {
	if err := create(); err != nil {
		os.RemoveAll(dir)
		return err
	}
	return nil
}

// mirror is the Debian mirror: from the config, else found on the host.
func (l *Library) mirror() (string, error) {
	if l.cfg().DebianMirror != "" {
		return strings.TrimRight(l.cfg().DebianMirror, "/"), nil
	}
	return kernel.DefaultMirror()
}

// modulesDir is where a pulled kernel keeps its module tree.
func modulesDir(k store.Kernel) string {
	return filepath.Join(filepath.Dir(k.Path), "modules", "lib", "modules", k.Version)
}

// RegisterKernel copies a user's kernel (and initrd) into banger's state.
func (l *Library) RegisterKernel(ctx context.Context, req api.RegisterKernelRequest) (store.Kernel, error) {
	if err := vmname.ValidateResource("kernel", req.Name); err != nil {
		return store.Kernel{}, err
	}
	if _, err := l.store.GetKernel(ctx, req.Name); err == nil {
		return store.Kernel{}, errdefs.AlreadyExists("kernel %q already exists: pick another --name or remove it with `banger kernel rm %s`", req.Name, req.Name)
	}
	format, err := kernel.Identify(req.Path)
	if err != nil {
		return store.Kernel{}, err
	}
	dir := l.dirs.KernelDir(req.Name)
	if err := mustNotExist(dir); err != nil {
		return store.Kernel{}, err
	}
	rec, err := l.copyKernelFiles(req, format, dir)
	if err != nil {
		os.RemoveAll(dir)
		return store.Kernel{}, err
	}
	return rec, l.commit(ctx, dir, func() error { return l.store.CreateKernel(ctx, rec) })
}

func (l *Library) copyKernelFiles(req api.RegisterKernelRequest, format kernel.Format, dir string) (store.Kernel, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return store.Kernel{}, fmt.Errorf("creating %s: %w", dir, err)
	}
	rec := store.Kernel{Name: req.Name, Source: "register:" + req.Path}
	if format == kernel.ELFVmlinux {
		rec.Path = filepath.Join(dir, "vmlinux")
		rec.VmlinuxPath = rec.Path
	} else {
		rec.Path = filepath.Join(dir, "vmlinuz")
	}
	if err := copyFile(req.Path, rec.Path); err != nil {
		return rec, err
	}
	if req.Initrd != "" {
		rec.InitrdPath = filepath.Join(dir, "initrd.img")
		if err := copyFile(req.Initrd, rec.InitrdPath); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

// KernelUsers names what uses kernel name: VMs, snapshots and images.
func (l *Library) KernelUsers(ctx context.Context, name string) ([]string, error) {
	return l.UsersOf(ctx, "", name)
}

// DeleteKernel removes kernel name, unless something uses it.
func (l *Library) DeleteKernel(ctx context.Context, name string) error {
	return l.removeResource(ctx, "kernel", name, l.dirs.KernelDir(name), func(ctx context.Context) error {
		if _, err := l.store.GetKernel(ctx, name); err != nil {
			return err
		}
		return l.refuseUsed(ctx, "kernel", name, "", name)
	}, l.store.DeleteKernel)
}

// refuseUsed fails when VMs or images use a resource, naming them.
func (l *Library) refuseUsed(ctx context.Context, kind, name, image, kernelName string) error {
	users, err := l.UsersOf(ctx, image, kernelName)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return errdefs.FailedPrecondition("%s %q is in use by %s: remove those first", kind, name, strings.Join(users, ", "))
	}
	return nil
}

// removeResource deletes a resource's record, then its files.
func (l *Library) removeResource(ctx context.Context, kind, name, dir string, check func(context.Context) error, del func(context.Context, string) error) error {
	defer l.locks.Lock(kind + "/" + name)()
	if err := check(ctx); err != nil {
		return err
	}
	if err := del(ctx, name); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing %s files: %w", kind, err)
	}
	return nil
}

// copyFile copies a small file (a kernel, an initrd) to dst, which must not
// exist.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return errdefs.InvalidArgument("opening %s: %v", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("creating %s: %w", dst, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return out.Close()
}
