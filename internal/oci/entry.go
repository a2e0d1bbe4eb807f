package oci

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// write creates the entry hdr at rel (already resolved, final component
// not followed), replacing what a lower layer left there.
func (f *flattener) write(rel string, hdr *tar.Header, r io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := f.clear(rel, true); err != nil {
			return err
		}
		if err := f.root.Mkdir(rel, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		f.remember(rel, hdr)
		return f.owners(rel, hdr)
	case tar.TypeReg, tar.TypeGNUSparse:
		if err := f.budget.write(hdr.Size); err != nil {
			return err
		}
		if err := f.clear(rel, false); err != nil {
			return err
		}
		if err := writeFile(f.root, rel, r); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := f.clear(rel, false); err != nil {
			return err
		}
		if err := f.root.Symlink(hdr.Linkname, rel); err != nil {
			return err
		}
		if err := f.owners(rel, hdr); err != nil {
			return err
		}
		return f.lutimes(rel, hdr)
	case tar.TypeLink:
		return f.hardlink(rel, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if done, err := f.mknod(rel, hdr); !done || err != nil {
			return err
		}
	default:
		f.warn(fmt.Sprintf("skipped tar entries of unsupported type %q", hdr.Typeflag))
		return nil
	}
	return f.finishFile(rel, hdr)
}

// clear removes what is at rel, keeping a directory when keepDir is set,
// and forgets what was recorded for it.
func (f *flattener) clear(rel string, keepDir bool) error {
	removed, err := clearPath(f.root, rel, keepDir)
	if removed {
		f.forget(rel)
	}
	return err
}

// finishFile sets ownership, extended attributes, mode and times, in that
// order: chown clears setuid bits and file capabilities.
func (f *flattener) finishFile(rel string, hdr *tar.Header) error {
	if err := f.owners(rel, hdr); err != nil {
		return err
	}
	if err := f.root.Chmod(rel, modeOf(hdr)); err != nil {
		return err
	}
	return f.root.Chtimes(rel, hdr.ModTime, hdr.ModTime)
}

// writeFile creates rel in root, which must not exist, with r's content.
func writeFile(root *os.Root, rel string, r io.Reader) error {
	fh, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(fh, r); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// hardlink links rel to the entry's target, which an earlier entry created.
func (f *flattener) hardlink(rel string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return err
	}
	dir, base := path.Split(target)
	parent, err := resolveIn(f.root, dir, true)
	if err != nil {
		return err
	}
	tp := path.Join(parent, base)
	fi, err := f.root.Lstat(tp)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("hard link target %q is a directory", hdr.Linkname)
	}
	if tp == rel {
		return nil
	}
	if err := f.clear(rel, false); err != nil {
		return err
	}
	return f.root.Link(tp, rel)
}

// mknod creates a device node or fifo. Without root, device nodes are
// skipped (done false) with a warning.
func (f *flattener) mknod(rel string, hdr *tar.Header) (done bool, err error) {
	kind := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
	if err := f.clear(rel, false); err != nil {
		return false, err
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	err = f.inParent("mknod", rel, func(dirfd int, name string) error {
		return unix.Mknodat(dirfd, name, kind|uint32(hdr.Mode&0o7777), int(dev))
	})
	if errors.Is(err, fs.ErrPermission) && !f.owner {
		f.warn("not running as root: device nodes in the image were skipped")
		return false, nil
	}
	return err == nil, err
}

// owners applies uid/gid and extended attributes when running as root.
func (f *flattener) owners(rel string, hdr *tar.Header) error {
	if !f.owner {
		return nil
	}
	if err := f.root.Lchown(rel, hdr.Uid, hdr.Gid); err != nil {
		if !errors.Is(err, fs.ErrPermission) && !errors.Is(err, syscall.EINVAL) {
			return err
		}
		// Root in a user namespace cannot use unmapped IDs.
		f.owner = false
		f.warn(fmt.Sprintf("file ownership is not preserved: %v", err))
		return nil
	}
	for key, val := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(key, "SCHILY.xattr.")
		if !ok {
			continue
		}
		err := f.inParent("lsetxattr", rel, func(dirfd int, name string) error {
			// The descriptor's directory is inside the tree and name is
			// one component, not followed.
			return unix.Lsetxattr(fmt.Sprintf("/proc/self/fd/%d/%s", dirfd, name), attr, []byte(val), 0)
		})
		if err != nil {
			f.warn(fmt.Sprintf("extended attributes are not preserved: %v", err))
		}
	}
	return nil
}

// lutimes sets a symlink's own times.
func (f *flattener) lutimes(rel string, hdr *tar.Header) error {
	ts := unix.NsecToTimespec(hdr.ModTime.UnixNano())
	return f.inParent("utimensat", rel, func(dirfd int, name string) error {
		return unix.UtimesNanoAt(dirfd, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
	})
}

// inParent calls fn with a descriptor of rel's directory, opened through
// the root, and rel's last component, for the calls os.Root lacks: an *at
// call on them cannot leave the tree. op names the call in errors.
func (f *flattener) inParent(op, rel string, fn func(dirfd int, name string) error) error {
	dir, name := path.Split(rel)
	if dir == "" {
		dir = "."
	}
	d, err := f.root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	rc, err := d.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd), name) }); err != nil {
		return err
	}
	if ferr != nil {
		return &fs.PathError{Op: op, Path: rel, Err: ferr}
	}
	return nil
}

// modeOf is the entry's permission bits, setuid, setgid and sticky included.
func modeOf(hdr *tar.Header) fs.FileMode {
	return hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}
