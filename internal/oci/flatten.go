package oci

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

// OCI whiteout markers: ".wh.NAME" deletes NAME from lower layers;
// ".wh..wh..opq" hides everything lower layers put in its directory.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	opaqueWhiteout = ".wh..wh..opq"
)

// flattener applies layers, lowest first, onto a directory tree.
type flattener struct {
	root  string
	owner bool         // apply uid/gid: only root can
	warn  func(string) // records something that cannot be reproduced
	added map[string]bool
	dirs  map[string]dirMeta
}

// dirMeta is applied to directories once all layers are in, so that writing
// children neither fails on read-only modes nor bumps the times.
type dirMeta struct {
	mode  os.FileMode
	mtime time.Time
}

func newFlattener(root string, warn func(string)) *flattener {
	f := &flattener{root: root, owner: os.Geteuid() == 0, warn: warn, dirs: map[string]dirMeta{}}
	if !f.owner {
		warn("not running as root: file ownership is not preserved, every file will belong to the current user")
	}
	return f
}

// applyLayer reads one layer blob (gzip, zstd or plain tar) onto the tree.
func (f *flattener) applyLayer(ctx context.Context, blob io.Reader) error {
	r, err := decompress(blob)
	if err != nil {
		return err
	}
	defer r.Close()
	f.added = map[string]bool{}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading layer: %w", err)
		}
		if err := f.apply(hdr, tr); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	// Read to the end so the decompressor checks its trailer.
	_, err = io.Copy(io.Discard, r)
	return err
}

// decompress picks the layer's compression from its first bytes rather than
// trusting the media type.
func decompress(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return gzip.NewReader(br)
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		d, err := zstd.NewReader(br)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	}
	return io.NopCloser(br), nil
}

// apply applies one tar entry.
func (f *flattener) apply(hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "." {
		if hdr.Typeflag == tar.TypeDir {
			f.dirs["."] = dirMeta{mode: modeOf(hdr), mtime: hdr.ModTime}
		}
		return nil
	}
	dir, base := path.Split(name)
	parent, err := ensureDir(f.root, dir, 0o755)
	if err != nil {
		return fmt.Errorf("creating parent directory: %w", err)
	}
	switch {
	case base == opaqueWhiteout:
		return f.opaque(parent)
	case strings.HasPrefix(base, whiteoutMeta):
		return nil // other AUFS metadata carries nothing for us
	case strings.HasPrefix(base, whiteoutPrefix):
		return f.whiteout(path.Join(parent, base[len(whiteoutPrefix):]))
	}
	rel := path.Join(parent, base)
	f.added[rel] = true
	return f.write(rel, hdr, r)
}

// whiteout deletes rel if a lower layer put it there.
func (f *flattener) whiteout(rel string) error {
	if f.added[rel] {
		return nil
	}
	f.forget(rel)
	return os.RemoveAll(f.host(rel))
}

// opaque empties directory rel of everything lower layers put in it,
// keeping what the current layer has written.
func (f *flattener) opaque(rel string) error {
	entries, err := os.ReadDir(f.host(rel))
	if err != nil {
		return err
	}
	for _, e := range entries {
		child := path.Join(rel, e.Name())
		switch {
		case !f.added[child]:
			f.forget(child)
			if err := os.RemoveAll(f.host(child)); err != nil {
				return err
			}
		case e.IsDir():
			if err := f.opaque(child); err != nil {
				return err
			}
		}
	}
	return nil
}

// forget drops directory metadata for rel and everything below it.
func (f *flattener) forget(rel string) {
	for d := range f.dirs {
		if d == rel || strings.HasPrefix(d, rel+"/") {
			delete(f.dirs, d)
		}
	}
}

func (f *flattener) host(rel string) string { return filepath.Join(f.root, rel) }

// finish gives directories their final modes and times.
func (f *flattener) finish() error {
	if _, ok := f.dirs["."]; !ok {
		f.dirs["."] = dirMeta{mode: 0o755}
	}
	for rel, m := range f.dirs {
		p := f.host(rel)
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() {
			continue
		}
		if err := os.Chmod(p, m.mode); err != nil {
			return err
		}
		if !m.mtime.IsZero() {
			if err := os.Chtimes(p, m.mtime, m.mtime); err != nil {
				return err
			}
		}
	}
	return nil
}
