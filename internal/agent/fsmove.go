package agent

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// permBits are the mode bits a copy keeps.
const permBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// moveAcross moves from to another file system: a copy beside to, renamed
// over it (so what may be replaced is what rename(2) would replace), then
// from removed.
func moveAcross(from, to string) error {
	scratch, err := os.MkdirTemp(filepath.Dir(to), "."+filepath.Base(to)+".banger-move-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	tmp := filepath.Join(scratch, "copy")
	if err := copyAcross(from, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, to); err != nil {
		return err
	}
	return os.RemoveAll(from)
}

// copyAcross copies src to dst, which must not exist: regular files,
// directories and symbolic links, with their modes, owners and times.
func copyAcross(src, dst string) error {
	var dirs []string // made 0700 to be filled; their modes come last
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			dirs = append(dirs, p)
			err = os.Mkdir(target, 0o700)
		case fi.Mode().IsRegular():
			err = copyFile(p, target, fi)
		case fi.Mode()&fs.ModeSymlink != 0:
			err = copyLink(p, target, fi)
		default:
			err = badRequest("cannot move %s to another file system: it is a device, socket or pipe", p)
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, d := range slices.Backward(dirs) {
		rel, _ := filepath.Rel(src, d)
		fi, err := os.Lstat(d)
		if err != nil {
			return err
		}
		if err := keepAttrs(filepath.Join(dst, rel), fi); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, fi fs.FileInfo) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return keepAttrs(dst, fi)
}

func copyLink(src, dst string, fi fs.FileInfo) error {
	target, err := os.Readlink(src)
	if err != nil {
		return err
	}
	if err := os.Symlink(target, dst); err != nil {
		return err
	}
	chownLike(dst, fi)
	return nil
}

// keepAttrs gives path fi's owner (when allowed), mode bits and times.
func keepAttrs(path string, fi fs.FileInfo) error {
	chownLike(path, fi)
	if err := os.Chmod(path, fi.Mode()&permBits); err != nil {
		return err
	}
	return os.Chtimes(path, fi.ModTime(), fi.ModTime())
}

// chownLike gives path fi's owner; only root may, so a failure is left be.
func chownLike(path string, fi fs.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		_ = os.Lchown(path, int(st.Uid), int(st.Gid))
	}
}
