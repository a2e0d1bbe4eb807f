package kernel

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"banger/internal/errdefs"
)

// puller carries one Pull through its steps.
type puller struct {
	o       PullOptions
	staging string
	pkg     Package
	deb     string
	version string
}

func newPuller(o PullOptions) (*puller, error) {
	if err := os.MkdirAll(o.TmpDir, 0o755); err != nil {
		return nil, err
	}
	staging, err := makeStaging(o.Dir)
	if err != nil {
		return nil, err
	}
	return &puller{o: o, staging: staging}, nil
}

type pullStep struct {
	name string
	run  func(context.Context) error
}

// run does each step, then renames the staging directory into place.
func (p *puller) run(ctx context.Context) (Kernel, error) {
	steps := []pullStep{
		{"resolve", p.resolve},
		{"download", p.download},
		{"extract", p.extract},
		{"modules", p.modules},
		{"vmlinux", p.vmlinux},
		{"initrd", p.initrd},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return Kernel{}, err
		}
		p.o.Progress.Step(s.name)
		if err := s.run(ctx); err != nil {
			return Kernel{}, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return Kernel{}, err
	}
	if err := checkAbsent(p.o.Dir); err != nil {
		return Kernel{}, err
	}
	if err := os.Rename(p.staging, p.o.Dir); err != nil {
		return Kernel{}, err
	}
	return layout(p.o.Name, p.version, p.o.Dir), nil
}

// staged is the kernel as laid out in the staging directory.
func (p *puller) staged() Kernel { return layout(p.o.Name, p.version, p.staging) }

func (p *puller) resolve(ctx context.Context) error {
	pkg, err := p.o.Source.Resolve(ctx, p.o.Package)
	if err != nil {
		return err
	}
	p.pkg = pkg
	p.o.Progress.Note("resolve", fmt.Sprintf("%s %s (%d bytes)", pkg.Name, pkg.Version, pkg.Size))
	return nil
}

func (p *puller) download(ctx context.Context) error {
	name := path.Base(p.pkg.Filename)
	if !strings.HasSuffix(name, ".deb") || strings.HasPrefix(name, ".") {
		return errdefs.InvalidArgument("package %s has file name %q, not a .deb; set another debian_mirror", p.pkg.Name, p.pkg.Filename)
	}
	p.deb = filepath.Join(p.o.TmpDir, name)
	if verifyFile(p.deb, p.pkg) == nil {
		p.o.Progress.Note("download", "reusing "+p.deb)
		return nil
	}
	return p.o.Source.Download(ctx, p.pkg, p.deb, p.o.Progress)
}

// keepKernelFile selects what Pull takes from the package.
func keepKernelFile(name string) bool {
	return strings.HasPrefix(name, "boot/vmlinuz-") || strings.HasPrefix(name, "boot/config-") ||
		strings.HasPrefix(name, "lib/modules/") || strings.HasPrefix(name, "usr/lib/modules/")
}
