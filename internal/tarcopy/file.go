package tarcopy

import (
	"archive/tar"
	"crypto/rand"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"banger/internal/errdefs"
)

// File describes a lone regular file that arrives without a tar stream
// (`vm cp` of one file goes through the guest agent's file operations).
type File struct {
	// Name is the file's base name at the source.
	Name string
	// Size is what the sender claims: beyond the limits, it is refused
	// before a byte is written; the bytes themselves are bounded anyway.
	Size    int64
	Mode    fs.FileMode
	ModTime time.Time
}

// ExtractFile places the file f, whose bytes r holds, at dest as Extract
// places a stream of that one file (see place): into dest when it is a
// directory, else as dest. It writes through an os.Root at the chosen
// directory, into a temporary file beside the target that is renamed over
// it once all the bytes are in: a copy that fails leaves no part of a
// file and whatever was there. A symbolic link at the target is replaced,
// never followed.
func ExtractFile(r io.Reader, dest string, f File, opts Options) (Stats, error) {
	top := path.Clean(f.Name)
	if strings.Contains(top, "/") || !fs.ValidPath(top) || top == "." {
		return Stats{}, errdefs.InvalidArgument("the copied file is named %q, not a single name", f.Name)
	}
	pl, root, err := openPlace(dest, top, false)
	if err != nil {
		return Stats{}, err
	}
	defer root.Close()
	x := &extractor{root: root, opts: opts, top: top, place: pl}
	if err := x.count(&tar.Header{Typeflag: tar.TypeReg, Size: f.Size}); err != nil {
		return x.stats, err
	}
	if fi, err := root.Lstat(pl.top); err == nil && fi.IsDir() {
		return x.stats, errdefs.InvalidArgument("cannot overwrite the directory %s with a file", x.show(pl.top))
	}
	return x.stats, x.writeFile(pl.top, r, f)
}

// writeFile writes r to a temporary file, then renames it to name.
func (x *extractor) writeFile(name string, r io.Reader, f File) error {
	tmp := "." + name + ".banger-" + randomSuffix()
	w, err := x.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return x.writeError(name, err)
	}
	err = x.fill(w, r, name)
	if err == nil {
		err = w.Chmod(x.opts.keptMode(f.Mode))
	}
	if cerr := w.Close(); err == nil && cerr != nil {
		err = x.writeError(name, cerr)
	}
	if err == nil {
		err = x.root.Chtimes(tmp, f.ModTime, f.ModTime)
	}
	if err == nil {
		err = x.root.Rename(tmp, name)
	}
	if err != nil {
		x.root.Remove(tmp)
	}
	return err
}

// fill copies r to w, up to the limits. An error reading r is returned
// as it is: it says why the sender failed.
func (x *extractor) fill(w io.Writer, r io.Reader, name string) error {
	limit := x.opts.Limits.MaxBytes
	cw := &checkedWriter{w: w}
	n, err := io.Copy(cw, io.LimitReader(r, limit+1))
	x.stats.Bytes = min(n, limit)
	switch {
	case n > limit:
		return x.tooBig(n)
	case cw.err != nil:
		return x.writeError(name, cw.err)
	}
	return err
}

// checkedWriter keeps the error of its writer.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil {
		c.err = err
	}
	return n, err
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
