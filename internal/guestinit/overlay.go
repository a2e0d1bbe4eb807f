package guestinit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// Where an overlay root's layers are mounted. They live on a tmpfs at
// /run that banger-init moves into the new root, so the guest sees them
// under /run/banger (systemd keeps a /run that is already mounted).
const (
	runDir       = "/run"
	lowerDir     = "/run/banger/lower"      // the image, read-only
	upperDiskDir = "/run/banger/upper-disk" // the VM's upper disk
)

// The upper disk's directories that overlayfs uses.
const (
	upperName = "upper"
	workName  = "work"
)

// runMount is the tmpfs for /run, with the options systemd would give it.
var runMount = struct {
	data  string
	flags uintptr
}{"mode=0755,size=20%,nr_inodes=800k", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_STRICTATIME}

// mountOverlayRoot mounts the root disk read-only as the lower layer and
// the upper disk's upper and work directories over it, at newRoot.
func mountOverlayRoot(p bootParams) error {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", runDir, "tmpfs", runMount.flags, runMount.data); err != nil {
		return fmt.Errorf("mounting a tmpfs on %s: %w", runDir, err)
	}
	for _, d := range []string{lowerDir, upperDiskDir, newRoot} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := unix.Mount(p.Root, lowerDir, p.FSType, unix.MS_RDONLY, p.Flags); err != nil {
		return fmt.Errorf("mount -o ro -t %s %s %s: %w", p.FSType, p.Root, lowerDir, err)
	}
	if err := unix.Mount(p.Overlay, upperDiskDir, "ext4", 0, ""); err != nil {
		return fmt.Errorf("mount -t ext4 %s %s: %w", p.Overlay, upperDiskDir, err)
	}
	if err := prepareUpper(upperDiskDir, lowerDir, os.Lchown); err != nil {
		return fmt.Errorf("preparing the upper disk %s: %w", p.Overlay, err)
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s",
		lowerDir, filepath.Join(upperDiskDir, upperName), filepath.Join(upperDiskDir, workName))
	if err := unix.Mount("overlay", newRoot, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount -t overlay -o %s overlay %s: %w", opts, newRoot, err)
	}
	return nil
}

// prepareUpper makes the upper and work directories on a new upper disk
// mounted at disk. The upper directory is the merged root's top, so it
// takes the mode and owner of the lower root's top.
func prepareUpper(disk, lower string, lchown chownFunc) error {
	fi, err := os.Stat(lower)
	if err != nil {
		return err
	}
	upper := filepath.Join(disk, upperName)
	switch err := os.Mkdir(upper, 0o700); {
	case err == nil:
		if err := copyOwner(upper, fi, lchown); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrExist):
		return err
	}
	if err := os.Mkdir(filepath.Join(disk, workName), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// chownFunc changes a file's owner without following symlinks (os.Lchown).
type chownFunc func(path string, uid, gid int) error

// copyOwner gives path the owner and, unless it is a symlink, the
// permissions that fi describes. The mode comes second: chown clears the
// setuid and setgid bits.
func copyOwner(path string, fi fs.FileInfo, lchown chownFunc) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := lchown(path, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil
	}
	return os.Chmod(path, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
}

// moveRun hands /run, with the overlay's layers, to the new root.
func moveRun() error {
	target := newRoot + runDir
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(runDir, target, "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("moving %s to %s: %w", runDir, target, err)
	}
	return nil
}
