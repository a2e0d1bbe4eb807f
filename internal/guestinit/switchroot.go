package guestinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// freeInitramfs deletes the initramfs's files, as switch_root does, so the
// memory they hold goes back to the guest. It only touches a ramfs or tmpfs
// root and never crosses into another filesystem or the new root.
func freeInitramfs() error {
	var fs unix.Statfs_t
	if err := unix.Statfs("/", &fs); err != nil {
		return err
	}
	if fs.Type != unix.RAMFS_MAGIC && fs.Type != unix.TMPFS_MAGIC {
		return nil
	}
	var root unix.Stat_t
	if err := unix.Lstat("/", &root); err != nil {
		return err
	}
	entries, err := os.ReadDir("/")
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if "/"+e.Name() == newRoot {
			continue
		}
		errs = append(errs, removeSameDev("/"+e.Name(), root.Dev))
	}
	return errors.Join(errs...)
}

// removeSameDev removes path and, for a directory, what it holds, skipping
// anything on a device other than dev (mount points).
func removeSameDev(path string, dev uint64) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return err
	}
	if st.Dev != dev {
		return nil
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := removeSameDev(filepath.Join(path, e.Name()), dev); err != nil {
				return err
			}
		}
	}
	return os.Remove(path)
}

// switchRoot makes newRoot the root directory: mount --move . /, chroot .
func switchRoot() error {
	if err := unix.Chdir(newRoot); err != nil {
		return fmt.Errorf("chdir %s: %w", newRoot, err)
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("moving %s to /: %w", newRoot, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// execInit replaces banger-init with the root's init, passing on the
// arguments and environment the kernel gave banger-init.
func execInit(log *logger, p bootParams) error {
	var errs []error
	for _, init := range p.inits() {
		if _, err := os.Stat(init); err != nil {
			errs = append(errs, err)
			continue
		}
		log.Infof("starting %s", init)
		argv := append([]string{init}, os.Args[1:]...)
		errs = append(errs, fmt.Errorf("exec %s: %w", init, unix.Exec(init, argv, os.Environ())))
	}
	return fmt.Errorf("no init to start in the root filesystem (set init= to its path): %w", errors.Join(errs...))
}
