// Package initramfs builds the small initramfs banger boots its guests
// with: banger-init (see package guestinit) as /init, and the kernel
// modules it loads before mounting the root disk, because Debian's cloud
// kernel builds the virtio drivers as modules.
package initramfs

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"banger/internal/guestabi"
)

// DefaultModules are the drivers banger's guests need: the virtio
// transports (mmio for microvm and Firecracker, pci for other machines),
// disk, network, console and serial ports (the agent's channel where vsock
// is missing), entropy, vsock, and overlayfs for roots stacked on a shared
// image (banger.overlay=). ResolveModules adds what they depend on.
var DefaultModules = []string{
	"virtio_mmio",
	"virtio_pci",
	"virtio_blk",
	"virtio_net",
	"virtio_console",
	"virtio_rng",
	"vmw_vsock_virtio_transport",
	"overlay",
}

// Options says what goes into the initramfs.
type Options struct {
	// InitBinary is a static executable to install as /init; banger uses
	// its guest agent, which doubles as banger-init.
	InitBinary string
	// ModulesDir is a lib/modules/<kver> directory. Its modules.dep is used
	// when present; otherwise the modules' own metadata is read. Empty
	// means a kernel with every driver built in: no modules.
	ModulesDir string
	// Modules are the modules to load, by name; nil means DefaultModules.
	Modules []string
}

// Build writes a gzip-compressed newc cpio archive. The same inputs always
// give the same bytes.
func Build(w io.Writer, o Options) error {
	files, err := o.entries()
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	cw := &newcWriter{w: zw}
	for _, e := range files {
		if err := cw.write(e); err != nil {
			return fmt.Errorf("writing initramfs: %w", err)
		}
	}
	if err := cw.close(); err != nil {
		return fmt.Errorf("writing initramfs: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("writing initramfs: %w", err)
	}
	return nil
}

// entries lists the archive's files, parents before children.
func (o Options) entries() ([]entry, error) {
	init, err := readStaticBinary(o.InitBinary)
	if err != nil {
		return nil, err
	}
	mods, conf, err := o.modules()
	if err != nil {
		return nil, err
	}
	files := append(mods,
		entry{name: strings.TrimPrefix(guestabi.InitPath, "/"), mode: typeReg | 0o755, data: init},
		entry{name: strings.TrimPrefix(guestabi.ModuleListPath, "/"), mode: typeReg | 0o644, data: conf},
		entry{name: "dev/console", mode: typeChar | 0o600, major: 5, minor: 1},
	)
	for _, d := range []string{"dev", "proc", "sys", "newroot"} {
		files = append(files, entry{name: d, mode: typeDir | 0o755})
	}
	return withParents(files), nil
}

// modules returns the module files to include and the list for banger-init.
func (o Options) modules() ([]entry, []byte, error) {
	names := o.Modules
	if names == nil && o.ModulesDir != "" {
		names = DefaultModules
	}
	if len(names) == 0 {
		conf, err := conf(nil)
		return nil, conf, err
	}
	if o.ModulesDir == "" {
		return nil, nil, errors.New("kernel modules requested but no modules directory given")
	}
	ix, err := loadIndex(o.ModulesDir)
	if err != nil {
		return nil, nil, fmt.Errorf("indexing kernel modules: %w", err)
	}
	rels, err := ix.resolve(names)
	if err != nil {
		return nil, nil, err
	}
	base := path.Join("lib/modules", filepath.Base(filepath.Clean(o.ModulesDir)))
	var files []entry
	var paths []string
	for _, rel := range rels {
		data, err := os.ReadFile(filepath.Join(o.ModulesDir, filepath.FromSlash(rel)))
		if err != nil {
			return nil, nil, fmt.Errorf("reading kernel module: %w", err)
		}
		name := path.Join(base, rel)
		files = append(files, entry{name: name, mode: typeReg | 0o644, data: data})
		paths = append(paths, "/"+name)
	}
	c, err := conf(paths)
	return files, c, err
}

// conf is banger-init's list of modules to load.
func conf(paths []string) ([]byte, error) {
	var b bytes.Buffer
	err := guestabi.WriteModuleList(&b, paths)
	return b.Bytes(), err
}

// readStaticBinary reads an executable that must run with no dynamic
// loader, since the initramfs has none.
func readStaticBinary(p string) ([]byte, error) {
	if p == "" {
		return nil, errors.New("no init binary given")
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading init binary: %w", err)
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("init binary %s is not an ELF executable: %w", p, err)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return nil, fmt.Errorf("init binary %s is dynamically linked; the initramfs has no loader: build it with CGO_ENABLED=0", p)
		}
	}
	return data, nil
}

// withParents adds a directory entry for every missing parent, drops
// duplicate names and sorts by name, which puts each parent first.
func withParents(files []entry) []entry {
	seen := map[string]bool{}
	var out []entry
	for _, e := range files {
		if !seen[e.name] {
			seen[e.name] = true
			out = append(out, e)
		}
	}
	for _, e := range files {
		for d := path.Dir(e.name); d != "."; d = path.Dir(d) {
			if !seen[d] {
				seen[d] = true
				out = append(out, entry{name: d, mode: typeDir | 0o755})
			}
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return out
}
