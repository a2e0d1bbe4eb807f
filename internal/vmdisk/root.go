// Package vmdisk makes a VM's own disks from its image without copying
// the image: a writable root (a reflink clone of the image where the
// state directory's filesystem can share blocks, else the shared,
// read-only image plus a sparse upper disk that the guest's init stacks
// with overlayfs), and the work disk mounted at /root in the guest.
// Everything is made with mkfs.ext4 on plain files: nothing is mounted on
// the host. See docs/adr/0005-vm-disks.md.
package vmdisk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"banger/internal/atomicfile"
	"banger/internal/errdefs"
	"banger/internal/guestabi"
	"banger/internal/vmm"
)

// RootMode says how a VM's root disk derives from its image.
type RootMode string

// The two root modes.
const (
	// ModeClone is a reflink clone of the image, booted read-write.
	ModeClone RootMode = "clone"
	// ModeOverlay is the image attached read-only and shared by all VMs,
	// plus a per-VM upper disk that the guest's init stacks over it with
	// overlayfs.
	ModeOverlay RootMode = "overlay"
)

// Names of the files PrepareRoot makes in a VM's directory.
const (
	CloneName = "root.ext4"
	UpperName = "upper.ext4"
)

// UpperSize is the apparent size of an overlay VM's upper disk, which
// bounds how much the VM can change or add in its root filesystem. The file
// is sparse: it takes about 4 MiB on the host until the guest writes.
const UpperSize int64 = 8 << 30

// Root is a VM's root disk set.
type Root struct {
	Mode  RootMode
	Image string // the image's rootfs.ext4, shared
	Upper string // overlay only: the VM's upper disk
	Clone string // clone only: the VM's clone of the image
}

// Disks lists the root's block devices in boot order: the first is
// /dev/vda. In overlay mode the image is read-only, so VMs can share it.
func (r Root) Disks() []vmm.Disk {
	if r.Mode == ModeClone {
		return []vmm.Disk{{ID: "root", Path: r.Clone, Format: "raw"}}
	}
	return []vmm.Disk{
		{ID: "root", Path: r.Image, Format: "raw", ReadOnly: true},
		{ID: "upper", Path: r.Upper, Format: "raw"},
	}
}

// Cmdline is the part of the kernel command line that tells banger's
// initramfs init how to assemble the root.
func (r Root) Cmdline() string {
	if r.Mode == ModeClone {
		return "root=" + DeviceName(0) + " rw"
	}
	return "root=" + DeviceName(0) + " ro " + guestabi.OverlayParam + "=" + DeviceName(1)
}

// WorkDevice is the guest device of a disk attached right after Disks,
// such as the work disk.
func (r Root) WorkDevice() string { return DeviceName(len(r.Disks())) }

// DeviceName is the guest's name of the i-th virtio disk (from 0):
// /dev/vda, /dev/vdb, ...
func DeviceName(i int) string {
	if i < 0 || i >= 26 {
		panic(fmt.Sprintf("vmdisk: no single-letter device name for disk %d", i))
	}
	return "/dev/vd" + string(rune('a'+i))
}

// PrepareRoot makes the writable root of a VM whose own directory is dir,
// from image: a reflink clone at dir/root.ext4 when the filesystem can
// share blocks (btrfs, xfs), else a sparse upper disk at dir/upper.ext4.
// A root made earlier in dir is kept as it is, so PrepareRoot is safe to
// call again after a crash or on every start.
func PrepareRoot(ctx context.Context, image, dir string) (Root, error) {
	return hostRoots.prepare(ctx, image, dir)
}

// rootMaker holds the host side effects of PrepareRoot, for tests.
type rootMaker struct {
	clone func(dst, src *os.File) error // FICLONE
	mkfs  mkfsFunc
}

var hostRoots = rootMaker{clone: ficlone, mkfs: runMkfs}

func (m rootMaker) prepare(ctx context.Context, image, dir string) (Root, error) {
	if err := checkImage(image); err != nil {
		return Root{}, err
	}
	clone := Root{Mode: ModeClone, Image: image, Clone: filepath.Join(dir, CloneName)}
	overlay := Root{Mode: ModeOverlay, Image: image, Upper: filepath.Join(dir, UpperName)}
	for _, r := range []Root{clone, overlay} {
		if ok, err := exists(r.own()); ok || err != nil {
			return r, err
		}
	}
	if err := ctx.Err(); err != nil {
		return Root{}, err
	}
	cloned, err := m.tryClone(image, clone.Clone)
	if err != nil || cloned {
		return clone, err
	}
	if err := m.makeUpper(ctx, overlay.Upper); err != nil {
		return Root{}, err
	}
	return overlay, nil
}

// tryClone clones image to dst, and reports false when the filesystem
// cannot share blocks.
func (m rootMaker) tryClone(image, dst string) (bool, error) {
	src, err := os.Open(image)
	if err != nil {
		return false, fmt.Errorf("opening the image: %w", err)
	}
	defer src.Close()
	err = atomicfile.Make(dst, func(tmp string) error {
		f, err := os.OpenFile(tmp, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		err = m.clone(f, src)
		if cloneUnsupported(err) {
			return errNoReflink
		}
		if err != nil {
			return fmt.Errorf("cloning %s to %s: %w", image, dst, err)
		}
		return f.Close()
	})
	if errors.Is(err, errNoReflink) {
		return false, nil
	}
	return err == nil, err
}

// makeUpper makes an empty sparse ext4 upper disk at path. The guest's
// init creates the overlay's upper and work directories on first boot,
// owned like the image's root directory.
func (m rootMaker) makeUpper(ctx context.Context, path string) error {
	return atomicfile.Make(path, func(tmp string) error {
		if err := m.mkfs(ctx, tmp, "banger-upper", "", UpperSize); err != nil {
			return fmt.Errorf("making the upper disk %s: %w", path, err)
		}
		return nil
	})
}

// own is the file that belongs to this VM alone.
func (r Root) own() string {
	if r.Mode == ModeClone {
		return r.Clone
	}
	return r.Upper
}

func checkImage(image string) error {
	fi, err := os.Stat(image)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errdefs.NotFound("image file %s is missing: pull or build the image again", image)
	case err != nil:
		return fmt.Errorf("checking the image: %w", err)
	case !fi.Mode().IsRegular():
		return errdefs.InvalidArgument("image %s is not a regular file", image)
	}
	return nil
}

func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking %s: %w", path, err)
	}
	return true, nil
}
