package image

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
	"strings"
	"time"

	"banger/internal/privilege"
)

// installFiles puts files into the tree. They travel as a tar stream to
// tar running in the chroot, as root: the files end up owned by root
// whether banger runs as root or through sudo, and symlinks in the tree
// (/lib -> usr/lib, absolute links) resolve inside it, never on the host.
func installFiles(ctx context.Context, r privilege.Runner, tree string, files []treeFile) error {
	pr, pw := io.Pipe()
	werr := make(chan error, 1)
	go func() {
		err := writeTar(pw, files, time.Now())
		pw.CloseWithError(err)
		werr <- err
	}()
	err := run(ctx, r, pr, nil, tool("chroot"), chrootArgs(tree, "tar", "-x", "-f", "-", "-C", "/",
		"-p", "--numeric-owner", "--keep-directory-symlink", "--no-overwrite-dir")...)
	pr.CloseWithError(errTarExited) // unblocks the writer if tar stopped early
	if w := <-werr; w != nil && !errors.Is(w, errTarExited) {
		return w // the cause; tar only saw a short archive
	}
	return err
}

var errTarExited = errors.New("tar exited")

// writeTar writes files as a tar stream owned by root, modified at mtime.
// Paths are made relative; a file's Src is read from the host.
func writeTar(w io.Writer, files []treeFile, mtime time.Time) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		if err := writeEntry(tw, f, mtime); err != nil {
			return fmt.Errorf("adding %s: %w", f.Path, err)
		}
	}
	return tw.Close()
}

func writeEntry(tw *tar.Writer, f treeFile, mtime time.Time) error {
	name := strings.TrimPrefix(path.Clean("/"+f.Path), "/")
	if name == "" {
		return errors.New("cannot replace the tree's root")
	}
	h := &tar.Header{Name: name, Mode: int64(f.Mode.Perm()), Uid: 0, Gid: 0, Uname: "root", Gname: "root", ModTime: mtime.Truncate(time.Second), Format: tar.FormatPAX}
	switch {
	case f.Mode.IsDir():
		h.Typeflag, h.Name = tar.TypeDir, name+"/"
		return tw.WriteHeader(h)
	case f.Mode&fs.ModeSymlink != 0:
		h.Typeflag, h.Linkname = tar.TypeSymlink, f.Link
		return tw.WriteHeader(h)
	case f.Src == "":
		h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Data))
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := io.WriteString(tw, f.Data)
		return err
	}
	src, err := os.Open(f.Src)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", f.Src)
	}
	h.Typeflag, h.Size = tar.TypeReg, fi.Size()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = io.Copy(tw, src)
	return err
}

// modulesFiles lists a host lib/modules/KVER tree as files for
// /lib/modules/KVER in the guest, keeping modes and symlinks.
func modulesFiles(hostDir string) ([]treeFile, error) {
	kver := filepath.Base(hostDir)
	var files []treeFile
	err := filepath.WalkDir(hostDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(hostDir, p)
		if err != nil {
			return err
		}
		guest := path.Join("/lib/modules", kver, filepath.ToSlash(rel))
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			files = append(files, dir(guest, fi.Mode().Perm()|0o700))
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			files = append(files, symlink(guest, target))
		case d.Type().IsRegular():
			files = append(files, treeFile{Path: guest, Mode: fi.Mode().Perm(), Src: p})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading kernel modules in %s: %w", hostDir, err)
	}
	return files, nil
}
