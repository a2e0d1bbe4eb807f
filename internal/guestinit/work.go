package guestinit

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"banger/internal/guestabi"
)

// mountWork mounts the work disk dev at the new root's /root, preparing it
// first if this is its first boot.
func mountWork(log *logger, dev string) error {
	first, err := MountWork(dev, newRoot+"/root")
	if err != nil {
		return err
	}
	if first {
		log.Infof("first boot of work disk %s: its files are root's, with the image's /root files it lacks", dev)
	}
	return nil
}

// MountWork mounts the work disk dev at home, preparing it first if this
// is its first boot (which it reports). The guest agent uses it too, for
// VMs restored from a template, which get their work disk only once they
// run.
//
// The disk is mounted at home directly, with the image's files there
// read through a descriptor opened before: the directory a mount covers
// stays reachable through /proc/self/fd. One mount, where staging it
// elsewhere and binding it would make three changes to the mount table,
// which systemd and its D-Bus clients each work through, under emulation
// a good part of a second of a restored guest's only CPU.
func MountWork(dev, home string) (first bool, err error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return false, err
	}
	under, err := unix.Open(home, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("opening %s: %w", home, err)
	}
	defer unix.Close(under)
	if err := unix.Mount(dev, home, "ext4", 0, ""); err != nil {
		return false, fmt.Errorf("mount -t ext4 %s %s: %w", dev, home, err)
	}
	first, err = firstBoot(home, fmt.Sprintf("/proc/self/fd/%d", under), os.Lchown)
	if err != nil {
		unix.Unmount(home, unix.MNT_DETACH)
		return false, err
	}
	return first, nil
}

// firstBoot prepares the work disk mounted at work unless its marker
// says that was done: the host made its files with the host user's uid,
// so they all become root's; its top takes the mode of the image's home
// (0700 if the image has none); and it gets a copy of whatever the image
// has in imageHome (.bashrc, .profile) that the disk lacks. It reports
// whether it did the work. Run again after a crash, it gives the same
// result.
func firstBoot(work, imageHome string, lchown chownFunc) (bool, error) {
	marker := filepath.Join(work, guestabi.WorkMarker)
	if _, err := os.Lstat(marker); err == nil {
		return false, nil
	}
	if err := chownTree(work, lchown); err != nil {
		return false, fmt.Errorf("giving the work disk's files to root: %w", err)
	}
	if err := copyAbsent(imageHome, work, lchown); err != nil {
		return false, fmt.Errorf("copying the image's /root files: %w", err)
	}
	if fi, err := os.Stat(imageHome); err == nil {
		err = copyOwner(work, fi, lchown)
		if err != nil {
			return false, err
		}
	} else if err := os.Chmod(work, 0o700); err != nil {
		return false, err
	}
	return true, writeMarker(marker)
}

// chownTree makes everything under dir root's, without following
// symlinks. Setuid and setgid bits, which chown clears, are put back.
func chownTree(dir string, lchown chownFunc) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if err := lchown(p, 0, 0); err != nil {
			return err
		}
		if special := fi.Mode() & (fs.ModeSetuid | fs.ModeSetgid); special != 0 && fi.Mode()&fs.ModeSymlink == 0 {
			return os.Chmod(p, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
		}
		return nil
	})
}

// copyAbsent copies each entry of src that dst lacks, whole.
func copyAbsent(src, dst string, lchown chownFunc) error {
	entries, err := os.ReadDir(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		target := filepath.Join(dst, e.Name())
		if _, err := os.Lstat(target); err == nil || e.Name() == guestabi.WorkMarker {
			continue
		}
		if err := copyTree(filepath.Join(src, e.Name()), target, lchown); err != nil {
			return err
		}
	}
	return nil
}

// copyTree copies files, directories and symlinks from src to dst,
// keeping their modes and owners. Other file types are left out.
func copyTree(src, dst string, lchown chownFunc) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch fi.Mode().Type() {
		case fs.ModeDir:
			err = os.Mkdir(target, 0o700)
		case fs.ModeSymlink:
			var link string
			if link, err = os.Readlink(p); err == nil {
				err = os.Symlink(link, target)
			}
		case 0:
			err = copyFile(p, target)
		default:
			return nil
		}
		if err != nil {
			return err
		}
		return copyOwner(target, fi, lchown)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	return out.Close()
}

// writeMarker writes the first-boot marker, last, so that a crash before
// it means the first boot is done again. It is not synced on its own (a
// flush through the VMM, while the guest's first command waits): ext4's
// ordered journal writes it no earlier than the changes made before it,
// and a marker lost in a crash only means the same work done again.
func writeMarker(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.WriteString(f, "banger-init made this disk root's on its first boot; delete this file to do it again\n"); err != nil {
		return err
	}
	return f.Close()
}
