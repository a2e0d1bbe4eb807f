package kernel

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"banger/internal/errdefs"
)

// extractTar writes the kept entries of tr under root.
func extractTar(ctx context.Context, tr *tar.Reader, root *os.Root, keep func(string) bool) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading data.tar: %w", err)
		}
		name, ok := entryName(hdr.Name)
		if !ok {
			return errdefs.InvalidArgument("refusing %q: it escapes the destination", hdr.Name)
		}
		if name == "" || !keep(name) {
			continue
		}
		if err := writeEntry(root, name, hdr, tr); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
}

// entryName cleans a tar path; ok is false when it leaves the root.
func entryName(raw string) (name string, ok bool) {
	n := path.Clean(raw)
	if n == "." {
		return "", true
	}
	if !filepath.IsLocal(n) {
		return "", false
	}
	return n, true
}

func writeEntry(root *os.Root, name string, hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeDir {
		return root.MkdirAll(name, 0o755)
	}
	if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeReg:
		if err := removeExisting(root, name); err != nil {
			return err
		}
		return writeFile(root, name, hdr.FileInfo().Mode().Perm(), r)
	case tar.TypeSymlink:
		if err := removeExisting(root, name); err != nil {
			return err
		}
		return root.Symlink(hdr.Linkname, name)
	case tar.TypeLink:
		target, ok := entryName(hdr.Linkname)
		if !ok || target == "" {
			return errdefs.InvalidArgument("refusing hard link to %q: it escapes the destination", hdr.Linkname)
		}
		if err := removeExisting(root, name); err != nil {
			return err
		}
		return root.Link(target, name)
	}
	return nil // devices, fifos: a kernel package has none worth keeping
}

// removeExisting deletes a non-directory at name, so a later write cannot
// follow a symlink left there by an earlier entry.
func removeExisting(root *os.Root, name string) error {
	fi, err := root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("a directory is in the way")
	}
	return root.Remove(name)
}

func writeFile(root *os.Root, name string, perm fs.FileMode, r io.Reader) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
