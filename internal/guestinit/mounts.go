package guestinit

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

const newRoot = "/newroot"

// kernelFS are the filesystems banger-init mounts and hands to the root.
var kernelFS = []struct {
	dir, fstype, data string
	flags             uintptr
}{
	{"/dev", "devtmpfs", "mode=0755", unix.MS_NOSUID},
	{"/proc", "proc", "", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
	{"/sys", "sysfs", "", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
}

func mountKernelFS() error {
	for _, m := range kernelFS {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return err
		}
		err := unix.Mount(m.fstype, m.dir, m.fstype, m.flags, m.data)
		if err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mounting %s on %s: %w", m.fstype, m.dir, err)
		}
	}
	return nil
}

// waitForDevice polls for the block device node at path until timeout.
func waitForDevice(path string, timeout, interval time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		fi, err := os.Stat(path)
		if err == nil && fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0 {
			return nil
		}
		if err == nil {
			return fmt.Errorf("%s is not a block device", path)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear within %v: is the disk attached, and its driver in the initramfs?", path, timeout)
		}
		time.Sleep(interval)
	}
}

func mountRoot(p bootParams) error {
	if err := os.MkdirAll(newRoot, 0o755); err != nil {
		return err
	}
	var flags uintptr
	if p.ReadOnly {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Mount(p.Root, newRoot, p.FSType, flags, p.Flags); err != nil {
		return fmt.Errorf("mount -t %s %s %s: %w", p.FSType, p.Root, newRoot, err)
	}
	return nil
}

// moveKernelFS moves /dev, /proc and /sys under the new root. When the root
// lacks a mount point and is read-only, the filesystem is detached instead:
// the root's own init mounts what it needs.
func moveKernelFS(log *logger) error {
	for _, m := range kernelFS {
		target := newRoot + m.dir
		if err := os.MkdirAll(target, 0o755); err != nil {
			log.Infof("cannot create %s (%v): detaching %s instead of moving it", target, err, m.dir)
			if err := unix.Unmount(m.dir, unix.MNT_DETACH); err != nil {
				return fmt.Errorf("detaching %s: %w", m.dir, err)
			}
			continue
		}
		if err := unix.Mount(m.dir, target, "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("moving %s to %s: %w", m.dir, target, err)
		}
	}
	return nil
}
