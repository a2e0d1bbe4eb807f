package tarcopy

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

// ErrNoSpace matches the error of a copy that does not fit: the disk is
// full, or the stream holds more than Limits allow.
var ErrNoSpace = errors.New("not enough space")

// Options say how Extract treats what it receives.
type Options struct {
	Limits Limits
	// KeepSpecialBits keeps setuid and setgid bits; without it they are
	// dropped, as a host must do with files from a guest.
	KeepSpecialBits bool
	// Where names the receiving side in errors ("on the host").
	Where string
}

// Stats count what Extract wrote.
type Stats struct {
	Entries int64
	Bytes   int64
}

// extractor writes one stream's entries under root.
type extractor struct {
	root  *os.Root
	opts  Options
	top   string // the stream's top name
	place placement
	stats Stats
	dirs  map[string]bool // directories known to be real ones, not links
	later []dirMeta       // modes and times of created directories, set last
}

type dirMeta struct {
	name  string
	mode  fs.FileMode
	mtime time.Time
}

// Extract reads a tar stream from r and places its tree at dest (see
// place). Entries are written through an os.Root, never through a
// symbolic link (from the stream or already there), and never outside the
// destination; links are created as links, never followed. It stops with
// ErrNoSpace once the stream passes opts.Limits.
func Extract(r io.Reader, dest string, opts Options) (Stats, error) {
	tr := tar.NewReader(r)
	h, err := tr.Next()
	if err == io.EOF {
		return Stats{}, errdefs.InvalidArgument("the copy stream is empty")
	}
	if err != nil {
		return Stats{}, fmt.Errorf("reading the copy stream: %w", err)
	}
	top := path.Clean(h.Name)
	if top != Contents && (strings.Contains(top, "/") || !fs.ValidPath(top)) {
		return Stats{}, errdefs.InvalidArgument("the copy stream starts with %q, not a single name", h.Name)
	}
	pl, root, err := openPlace(dest, top, h.Typeflag == tar.TypeDir)
	if err != nil {
		return Stats{}, err
	}
	defer root.Close()
	x := &extractor{root: root, opts: opts, top: top, place: pl, dirs: map[string]bool{".": true}}
	for err == nil {
		if err = x.entry(h, tr); err != nil {
			break
		}
		h, err = tr.Next()
	}
	if err == io.EOF {
		err = nil
	} else if !isExtractError(err) {
		err = fmt.Errorf("reading the copy stream: %w", err)
	}
	return x.stats, errors.Join(err, x.finishDirs())
}

// extractError marks errors that already say what went wrong.
type extractError struct{ error }

func (e extractError) Unwrap() error { return e.error }

func isExtractError(err error) bool {
	_, ok := errors.AsType[extractError](err)
	return ok
}

// name maps an entry's name to its path under the root, refusing any
// that is not below the stream's top.
func (x *extractor) name(h *tar.Header) (string, error) {
	clean := path.Clean(h.Name)
	if strings.HasPrefix(h.Name, "/") || !fs.ValidPath(clean) {
		return "", errdefs.InvalidArgument("the copy stream holds %q, which leads outside the destination; refused", h.Name)
	}
	rel := clean
	if x.top != Contents {
		rest, ok := strings.CutPrefix(clean, x.top)
		if !ok || rest != "" && rest[0] != '/' {
			return "", errdefs.InvalidArgument("the copy stream holds %q, outside its top %q; refused", h.Name, x.top)
		}
		rel = strings.TrimPrefix(rest, "/")
	}
	if rel == "" || rel == "." {
		return x.place.top, nil
	}
	return path.Join(x.place.top, rel), nil
}

// entry writes one entry.
func (x *extractor) entry(h *tar.Header, body io.Reader) error {
	name, err := x.name(h)
	if err == nil {
		err = x.count(h)
	}
	if err == nil {
		err = x.checkParents(name)
	}
	if err == nil {
		switch h.Typeflag {
		case tar.TypeDir:
			err = x.dir(name, h)
		case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archives
			err = x.file(name, h, body)
		case tar.TypeSymlink:
			err = x.symlink(name, h)
		case tar.TypeLink:
			err = errdefs.InvalidArgument("the copy stream holds a hard link %q; vm cp sends none; refused", h.Name)
		default:
			err = errdefs.InvalidArgument("the copy stream holds %q of type %q (a device or pipe); refused", h.Name, h.Typeflag)
		}
	}
	if err != nil {
		return extractError{err}
	}
	return nil
}

// count charges the entry to the limits.
func (x *extractor) count(h *tar.Header) error {
	x.stats.Entries++
	if x.stats.Entries > x.opts.Limits.MaxEntries {
		return fmt.Errorf("the copy has more than %d entries, more than the free inodes %s allow: %w", x.opts.Limits.MaxEntries, x.opts.Where, ErrNoSpace)
	}
	if h.Typeflag == tar.TypeReg && x.stats.Bytes+h.Size > x.opts.Limits.MaxBytes {
		return x.tooBig(x.stats.Bytes + h.Size)
	}
	return nil
}

func (x *extractor) tooBig(n int64) error {
	return fmt.Errorf("the copy needs more than %s, the free space %s less a margin of %s; free some space: %w",
		progress.Bytes(x.opts.Limits.MaxBytes), x.opts.Where, progress.Bytes(Margin), ErrNoSpace)
}

// checkParents makes sure every directory above name is a real
// directory, so that nothing is written through a symbolic link.
func (x *extractor) checkParents(name string) error {
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		p := strings.Join(parts[:i], "/")
		if x.dirs[p] {
			continue
		}
		fi, err := x.root.Lstat(p)
		switch {
		case os.IsNotExist(err):
			return errdefs.InvalidArgument("the copy stream holds %q before its directory; refused", name)
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return errdefs.InvalidArgument("refusing to write %s through the symbolic link %s", x.show(name), x.show(p))
		case !fi.IsDir():
			return errdefs.InvalidArgument("cannot write %s: %s is not a directory", name, p)
		}
		x.dirs[p] = true
	}
	return nil
}

// clear removes what is at name, unless it is a directory, so that a new
// entry is created afresh and never written through an old link.
func (x *extractor) clear(name string) error {
	fi, err := x.root.Lstat(name)
	switch {
	case os.IsNotExist(err):
		return nil
	case err != nil:
		return err
	case fi.IsDir():
		return errdefs.InvalidArgument("cannot overwrite the directory %s with a file", x.show(name))
	}
	return x.root.Remove(name)
}

func (x *extractor) show(name string) string { return path.Join(x.place.dir, name) }

func (x *extractor) dir(name string, h *tar.Header) error {
	fi, err := x.root.Lstat(name)
	if err == nil {
		if !fi.IsDir() {
			return errdefs.InvalidArgument("cannot overwrite %s with a directory", x.show(name))
		}
		x.dirs[name] = true
		return nil // an existing directory keeps its mode
	}
	if err := x.root.Mkdir(name, 0o700); err != nil {
		return x.writeError(name, err)
	}
	x.dirs[name] = true
	x.later = append(x.later, dirMeta{name, x.mode(h), h.ModTime})
	return nil
}

func (x *extractor) file(name string, h *tar.Header, body io.Reader) error {
	if err := x.clear(name); err != nil {
		return err
	}
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return x.writeError(name, err)
	}
	n, err := io.Copy(f, io.LimitReader(body, h.Size))
	x.stats.Bytes += n
	if err == nil {
		err = f.Chmod(x.mode(h))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return x.writeError(name, err)
	}
	return x.root.Chtimes(name, h.ModTime, h.ModTime)
}

func (x *extractor) symlink(name string, h *tar.Header) error {
	if err := x.clear(name); err != nil {
		return err
	}
	if err := x.root.Symlink(h.Linkname, name); err != nil {
		return x.writeError(name, err)
	}
	return nil
}

// mode is the entry's mode as it is kept.
func (x *extractor) mode(h *tar.Header) fs.FileMode { return x.opts.keptMode(h.FileInfo().Mode()) }

// keptMode is the part of a sender's mode m that is kept.
func (o Options) keptMode(m fs.FileMode) fs.FileMode {
	keep := fs.ModePerm | fs.ModeSticky
	if o.KeepSpecialBits {
		keep |= fs.ModeSetuid | fs.ModeSetgid
	}
	return m & keep
}

func (x *extractor) writeError(name string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("writing %s: the disk %s is full; free some space: %w", x.show(name), x.opts.Where, ErrNoSpace)
	}
	return fmt.Errorf("writing %s: %w", x.show(name), err)
}

// finishDirs gives the directories it created their modes and times, the
// deepest first, once nothing more is written into them.
func (x *extractor) finishDirs() error {
	var errs []error
	for _, d := range slices.Backward(x.later) {
		if err := x.root.Chmod(d.name, d.mode); err != nil {
			errs = append(errs, fmt.Errorf("setting the mode of %s: %w", x.show(d.name), err))
			continue
		}
		x.root.Chtimes(d.name, d.mtime, d.mtime)
	}
	return errors.Join(errs...)
}
