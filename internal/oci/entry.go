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
	p := f.host(rel)
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := clearPath(p, true); err != nil {
			return err
		}
		if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		f.dirs[rel] = dirMeta{mode: modeOf(hdr), mtime: hdr.ModTime}
		return f.owners(p, hdr)
	case tar.TypeReg, tar.TypeGNUSparse:
		if err := clearPath(p, false); err != nil {
			return err
		}
		if err := writeFile(p, r); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := clearPath(p, false); err != nil {
			return err
		}
		if err := os.Symlink(hdr.Linkname, p); err != nil {
			return err
		}
		if err := f.owners(p, hdr); err != nil {
			return err
		}
		return lutimes(p, hdr)
	case tar.TypeLink:
		return f.hardlink(p, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if done, err := f.mknod(p, hdr); !done || err != nil {
			return err
		}
	default:
		f.warn(fmt.Sprintf("skipped tar entries of unsupported type %q", hdr.Typeflag))
		return nil
	}
	return f.finishFile(p, hdr)
}

// finishFile sets ownership, extended attributes, mode and times, in that
// order: chown clears setuid bits and file capabilities.
func (f *flattener) finishFile(p string, hdr *tar.Header) error {
	if err := f.owners(p, hdr); err != nil {
		return err
	}
	if err := os.Chmod(p, modeOf(hdr)); err != nil {
		return err
	}
	return os.Chtimes(p, hdr.ModTime, hdr.ModTime)
}

func writeFile(p string, r io.Reader) error {
	fh, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(fh, r); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// hardlink links p to the entry's target, which an earlier entry created.
func (f *flattener) hardlink(p string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return err
	}
	dir, base := path.Split(target)
	parent, err := resolveIn(f.root, dir, true)
	if err != nil {
		return err
	}
	tp := f.host(path.Join(parent, base))
	fi, err := os.Lstat(tp)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("hard link target %q is a directory", hdr.Linkname)
	}
	if tp == p {
		return nil
	}
	if err := clearPath(p, false); err != nil {
		return err
	}
	return os.Link(tp, p)
}

// mknod creates a device node or fifo. Without root, device nodes are
// skipped (done false) with a warning.
func (f *flattener) mknod(p string, hdr *tar.Header) (done bool, err error) {
	kind := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
	if err := clearPath(p, false); err != nil {
		return false, err
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	err = unix.Mknod(p, kind|uint32(hdr.Mode&0o7777), int(dev))
	if errors.Is(err, fs.ErrPermission) && !f.owner {
		f.warn("not running as root: device nodes in the image were skipped")
		return false, nil
	}
	return err == nil, err
}

// owners applies uid/gid and extended attributes when running as root.
func (f *flattener) owners(p string, hdr *tar.Header) error {
	if !f.owner {
		return nil
	}
	if err := os.Lchown(p, hdr.Uid, hdr.Gid); err != nil {
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
		if err := unix.Lsetxattr(p, attr, []byte(val), 0); err != nil {
			f.warn(fmt.Sprintf("extended attributes are not preserved: %v", err))
		}
	}
	return nil
}

func lutimes(p string, hdr *tar.Header) error {
	ts := []unix.Timespec{unix.NsecToTimespec(hdr.ModTime.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// modeOf is the entry's permission bits, setuid, setgid and sticky included.
func modeOf(hdr *tar.Header) fs.FileMode {
	return hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}
