package kernel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// extract unpacks the package into staging/modules, then moves the
// bzImage and config up to staging/vmlinuz and staging/config.
func (p *puller) extract(ctx context.Context) error {
	root := filepath.Join(p.staging, "modules")
	if err := extractDeb(ctx, p.deb, root, keepKernelFile); err != nil {
		return err
	}
	images, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(images) != 1 {
		return fmt.Errorf("%s holds %d boot/vmlinuz-* files, want 1", p.deb, len(images))
	}
	p.version = strings.TrimPrefix(filepath.Base(images[0]), "vmlinuz-")
	k := p.staged()
	if err := os.Rename(images[0], k.BzImage); err != nil {
		return err
	}
	config := filepath.Join(root, "boot", "config-"+p.version)
	if err := os.Rename(config, filepath.Join(p.staging, "config")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.RemoveAll(filepath.Join(root, "boot")); err != nil {
		return err
	}
	return p.moveUsrModules(root)
}

// moveUsrModules moves usr/lib/modules to lib/modules for packages built
// after Debian moved its files under /usr.
func (p *puller) moveUsrModules(root string) error {
	usr := filepath.Join(root, "usr", "lib", "modules")
	if _, err := os.Stat(usr); err == nil {
		if err := os.MkdirAll(filepath.Join(root, "lib"), 0o755); err != nil {
			return err
		}
		if err := os.Rename(usr, filepath.Join(root, "lib", "modules")); err != nil {
			return err
		}
		if err := os.RemoveAll(filepath.Join(root, "usr")); err != nil {
			return err
		}
	}
	if fi, err := os.Stat(p.staged().ModulesDir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s has no lib/modules/%s", p.deb, p.version)
	}
	return nil
}

func (p *puller) modules(context.Context) error {
	return ensureModulesDep(p.staged().ModulesDir)
}

func (p *puller) vmlinux(context.Context) error {
	k := p.staged()
	f, err := os.Open(k.BzImage)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	vmlinux, err := ExtractVmlinux(f, fi.Size())
	if err != nil {
		return err
	}
	return os.WriteFile(k.Vmlinux, vmlinux, 0o644)
}

func (p *puller) initrd(ctx context.Context) error {
	k := p.staged()
	f, err := os.Create(k.Initrd)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := p.o.BuildInitrd(ctx, k, f); err != nil {
		return err
	}
	if fi, err := f.Stat(); err != nil || fi.Size() == 0 {
		return fmt.Errorf("the initramfs builder wrote nothing to %s", k.Initrd)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}
