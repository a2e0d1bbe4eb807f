// Package tarcopy builds and extracts the tar streams of `banger vm cp`.
// The sending side writes one tree (a file, a directory or a symbolic
// link) under a single top name; the receiving side places it as
// `docker cp` does and extracts it through an os.Root, so that no entry
// can land outside the destination, whatever the sender puts in it.
//
// The package runs on both sides, in the CLI and in the guest agent, so
// it imports nothing but the standard library and the error kinds.
package tarcopy

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"banger/internal/errdefs"
)

// Contents is the top name of a stream that carries a directory's
// contents rather than the directory (a source written as DIR/.).
const Contents = "."

// chunk is the write size the stream is buffered to.
const chunk = 32 << 10

// Source is what a sender copies: the path as the user wrote it.
type Source struct {
	Path string
}

// Top is the name the tree has in the stream: the source's base name, or
// Contents for DIR/. and for the root directory.
func (s Source) Top() string {
	if strings.HasSuffix(s.Path, "/.") {
		return Contents
	}
	base := filepath.Base(filepath.Clean(s.Path))
	if base == "/" || base == "." || base == ".." {
		return Contents
	}
	return base
}

// Check says whether the source can be copied: it exists and is a file,
// a directory or a symbolic link (never followed).
func (s Source) Check() (fs.FileInfo, error) {
	fi, err := os.Lstat(s.clean())
	if err != nil {
		if os.IsNotExist(err) {
			return nil, errdefs.NotFound("%s does not exist", s.Path)
		}
		return nil, fmt.Errorf("reading %s: %w", s.Path, err)
	}
	if err := copyable(s.Path, fi); err != nil {
		return nil, err
	}
	return fi, nil
}

func (s Source) clean() string {
	if strings.HasSuffix(s.Path, "/.") {
		return filepath.Clean(s.Path) + "/" // a link to a directory is its directory here
	}
	return filepath.Clean(s.Path)
}

// copyable refuses what a tar of files cannot carry.
func copyable(name string, fi fs.FileInfo) error {
	switch m := fi.Mode(); {
	case m.IsRegular(), m.IsDir(), m&fs.ModeSymlink != 0:
		return nil
	case m&fs.ModeSocket != 0:
		return errdefs.InvalidArgument("%s is a socket: vm cp copies files, directories and symbolic links", name)
	case m&fs.ModeNamedPipe != 0:
		return errdefs.InvalidArgument("%s is a named pipe: vm cp copies files, directories and symbolic links", name)
	default:
		return errdefs.InvalidArgument("%s is a device: vm cp copies files, directories and symbolic links", name)
	}
}

// Size is the number of file bytes the source holds, for progress.
func (s Source) Size() int64 {
	var n int64
	filepath.WalkDir(s.clean(), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// Write writes the source as a tar stream to w. Symbolic links are
// written as links; a device, socket or pipe anywhere in the tree stops
// the copy with an error that names it.
func Write(w io.Writer, src Source) error {
	if _, err := src.Check(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, chunk)
	tw := tar.NewWriter(bw)
	top, root := src.Top(), src.clean()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		return writeEntry(tw, p, path.Join(top, filepath.ToSlash(rel)))
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// writeEntry writes the file at p under name.
func writeEntry(tw *tar.Writer, p, name string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	if err := copyable(p, fi); err != nil {
		return err
	}
	var link string
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return fmt.Errorf("reading link %s: %w", p, err)
		}
	}
	h, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	h.Name = name
	if fi.IsDir() && name != Contents {
		h.Name += "/"
	}
	h.Uname, h.Gname = "", ""
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	return writeBody(tw, p, h.Size)
}

func writeBody(tw *tar.Writer, p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	defer f.Close()
	n, err := io.CopyN(tw, f, size)
	if err == io.EOF {
		return fmt.Errorf("%s shrank from %d to %d bytes while it was copied", p, size, n)
	}
	if err != nil {
		return fmt.Errorf("copying %s: %w", p, err)
	}
	return nil
}
