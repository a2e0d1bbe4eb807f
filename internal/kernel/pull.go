package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

// DefaultPackage is the metapackage Pull resolves when none is given.
const DefaultPackage = "linux-image-cloud-amd64"

// Kernel is a kernel laid out on disk by Pull.
type Kernel struct {
	Name       string
	Version    string // kernel release, e.g. "6.1.0-NN-cloud-amd64"
	Dir        string
	BzImage    string // Dir/vmlinuz, for QEMU
	Vmlinux    string // Dir/vmlinux, for Firecracker
	Initrd     string // Dir/initrd.img
	ModulesDir string // Dir/modules/lib/modules/<Version>, with modules.dep
}

// layout names the files of a kernel in dir.
func layout(name, version, dir string) Kernel {
	return Kernel{
		Name:       name,
		Version:    version,
		Dir:        dir,
		BzImage:    filepath.Join(dir, "vmlinuz"),
		Vmlinux:    filepath.Join(dir, "vmlinux"),
		Initrd:     filepath.Join(dir, "initrd.img"),
		ModulesDir: filepath.Join(dir, "modules", "lib", "modules", version),
	}
}

// PullOptions says which kernel Pull fetches and where it goes.
type PullOptions struct {
	Source  Source
	Package string // default DefaultPackage
	Name    string // e.g. "debian-6.1-cloud"; default the base name of Dir
	Dir     string // final directory; must not exist
	TmpDir  string // where the .deb is downloaded and cached; default os.TempDir()
	// BuildInitrd writes the initramfs for k. It is required: Debian's
	// cloud kernel has its virtio drivers as modules. k's paths point into
	// the staging directory, and k.ModulesDir holds a modules.dep.
	BuildInitrd func(ctx context.Context, k Kernel, w io.Writer) error
	Progress    progress.Func
}

func (o PullOptions) withDefaults() (PullOptions, error) {
	if o.Dir == "" {
		return o, errdefs.InvalidArgument("no kernel directory given")
	}
	if o.BuildInitrd == nil {
		return o, errdefs.InvalidArgument("no initramfs builder given")
	}
	if o.Package == "" {
		o.Package = DefaultPackage
	}
	if o.Name == "" {
		o.Name = filepath.Base(o.Dir)
	}
	if o.TmpDir == "" {
		o.TmpDir = os.TempDir()
	}
	return o, o.Source.check()
}

// Pull downloads a Debian kernel package and lays it out in o.Dir: the
// bzImage, the vmlinux extracted from it, an initramfs and the modules
// tree. Debian's package is large: for 6.1 cloud, a ~27 MB download that
// becomes ~160 MB on disk (91 MB of modules, a 53 MB vmlinux); the modules
// tree is kept because images need it. Work happens in a sibling staging
// directory renamed into place at the end: on an error or a cancelled
// ctx, nothing is left at o.Dir. Steps, reported through o.Progress:
// resolve, download, extract, modules, vmlinux, initrd.
func Pull(ctx context.Context, o PullOptions) (Kernel, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Kernel{}, fmt.Errorf("pulling kernel: %w", err)
	}
	if err := checkAbsent(o.Dir); err != nil {
		return Kernel{}, fmt.Errorf("pulling kernel %s: %w", o.Name, err)
	}
	p, err := newPuller(o)
	if err != nil {
		return Kernel{}, fmt.Errorf("pulling kernel %s: %w", o.Name, err)
	}
	k, err := p.run(ctx)
	if err != nil {
		os.RemoveAll(p.staging)
		return Kernel{}, fmt.Errorf("pulling kernel %s: %w", o.Name, err)
	}
	return k, nil
}

func checkAbsent(dir string) error {
	_, err := os.Lstat(dir)
	if err == nil {
		return errdefs.AlreadyExists("%s already exists; remove it or pick another name", dir)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// makeStaging creates an empty sibling of dir to build the kernel in.
func makeStaging(dir string) (string, error) {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	staging, err := os.MkdirTemp(parent, filepath.Base(dir)+".tmp-")
	if err != nil {
		return "", err
	}
	return staging, os.Chmod(staging, 0o755)
}
