package oci

import (
	"archive/tar"
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"banger/internal/errdefs"
)

// OCI whiteout markers: ".wh.NAME" deletes NAME from lower layers;
// ".wh..wh..opq" hides everything lower layers put in its directory.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	opaqueWhiteout = ".wh..wh..opq"
)

// flattener applies layers, lowest first, onto a directory tree. Every
// change goes through root, and paths are resolved inside it first, so
// nothing a layer holds (symlinks, hard links, whiteouts) reaches outside.
type flattener struct {
	root   *os.Root
	owner  bool         // apply uid/gid: only root can
	warn   func(string) // records something that cannot be reproduced
	budget *budget
	added  map[string]bool // paths the current layer wrote
	dirs   map[string]dirMeta
	gone   map[string]uint64 // path -> when it was last removed
	seq    uint64            // orders dirs against gone
}

// dirMeta is applied to directories once all layers are in, so that writing
// children neither fails on read-only modes nor bumps the times. seq says
// when it was recorded: a removal of the directory or of a parent after
// that makes it stale.
type dirMeta struct {
	mode  os.FileMode
	mtime time.Time
	seq   uint64
}

// newFlattener opens the tree at dir. maxBytes bounds what the layers may
// unpack (0 for DefaultMaxUnpacked).
func newFlattener(dir string, maxBytes int64, warn func(string)) (*flattener, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening scratch tree: %w", err)
	}
	f := &flattener{root: root, owner: os.Geteuid() == 0, warn: warn, budget: newBudget(maxBytes),
		dirs: map[string]dirMeta{}, gone: map[string]uint64{}}
	if !f.owner {
		warn("not running as root: file ownership is not preserved, every file will belong to the current user")
	}
	return f, nil
}

func (f *flattener) close() error { return f.root.Close() }

// applyLayer reads one layer blob (gzip, zstd or plain tar) onto the tree.
func (f *flattener) applyLayer(ctx context.Context, blob io.Reader) error {
	d, err := decompress(blob)
	if err != nil {
		return err
	}
	defer d.Close()
	r := f.budget.reader(d)
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
		if err := f.budget.entry(); err != nil {
			return err
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
			f.remember(".", hdr)
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
		return f.whiteout(parent, base[len(whiteoutPrefix):])
	}
	rel := path.Join(parent, base)
	f.added[rel] = true
	return f.write(rel, hdr, r)
}

// whiteout deletes name from directory parent if a lower layer put it
// there. A name that is no single file of parent is refused.
func (f *flattener) whiteout(parent, name string) error {
	if name == "" || name == "." || name == ".." {
		return errdefs.InvalidArgument("whiteout of %q names no file of its directory: the layer is broken or hostile; use another image", name)
	}
	rel := path.Join(parent, name)
	if f.added[rel] {
		return nil
	}
	f.forget(rel)
	return f.root.RemoveAll(rel)
}

// opaque empties directory rel of everything lower layers put in it,
// keeping what the current layer has written.
func (f *flattener) opaque(rel string) error {
	d, err := f.root.Open(rel)
	if err != nil {
		return err
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, e := range entries {
		child := path.Join(rel, e.Name())
		switch {
		case !f.added[child]:
			f.forget(child)
			if err := f.root.RemoveAll(child); err != nil {
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

// remember records directory rel's final mode and time.
func (f *flattener) remember(rel string, hdr *tar.Header) {
	f.seq++
	f.dirs[rel] = dirMeta{mode: modeOf(hdr), mtime: hdr.ModTime, seq: f.seq}
}

// forget marks rel, and so everything below it, as removed: directory
// metadata recorded for them before now no longer applies.
func (f *flattener) forget(rel string) {
	f.seq++
	f.gone[rel] = f.seq
	delete(f.dirs, rel)
}

// stale reports whether rel or a parent was removed after seq.
func (f *flattener) stale(rel string, seq uint64) bool {
	for p := rel; ; p = path.Dir(p) {
		if f.gone[p] > seq {
			return true
		}
		if p == "." {
			return false
		}
	}
}

// finish gives directories their final modes and times, deepest first so
// that a parent made read-only does not stop its children.
func (f *flattener) finish() error {
	if _, ok := f.dirs["."]; !ok {
		f.dirs["."] = dirMeta{mode: 0o755}
	}
	rels := slices.SortedFunc(maps.Keys(f.dirs), func(a, b string) int {
		return cmp.Compare(strings.Count(b, "/"), strings.Count(a, "/"))
	})
	for _, rel := range rels {
		m := f.dirs[rel]
		if f.stale(rel, m.seq) {
			continue
		}
		fi, err := f.root.Lstat(rel)
		if err != nil || !fi.IsDir() {
			continue
		}
		if err := f.root.Chmod(rel, m.mode); err != nil {
			return err
		}
		if !m.mtime.IsZero() {
			if err := f.root.Chtimes(rel, m.mtime, m.mtime); err != nil {
				return err
			}
		}
	}
	return nil
}
