package bundle

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"time"

	"github.com/klauspost/compress/zstd"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

// copyBufSize is the buffer for copying file contents.
const copyBufSize = 1 << 20

// Export writes a zstd-compressed bundle of m's files to w. Each File needs
// Path, Role and SourcePath; Size and SHA256 are computed. Export reads every
// file twice through open (called with SourcePath): once to hash it, once to
// write it, and fails if the file changed in between. A zero
// m.FormatVersion means FormatVersion.
//
// Runs of zeros compress to almost nothing at zstd's fastest level, so a
// sparse rootfs makes a small bundle; Import writes it back sparse.
func Export(ctx context.Context, w io.Writer, m Manifest, open func(path string) (io.ReadCloser, error), prog progress.Func) error {
	if m.FormatVersion == 0 {
		m.FormatVersion = FormatVersion
	}
	m.Files = slices.Clone(m.Files)
	if err := m.validateShape(); err != nil {
		return err
	}
	for i := range m.Files {
		f := &m.Files[i]
		if f.SourcePath == "" {
			return errdefs.InvalidArgument("exporting %s: file %s has no source path", m.Name, f.Path)
		}
		size, sum, err := hashSource(ctx, open, *f, prog)
		if err != nil {
			return fmt.Errorf("hashing %s: %w", f.SourcePath, err)
		}
		f.Size, f.SHA256 = size, sum
	}
	if err := m.Validate(); err != nil {
		return err
	}
	return writeBundle(ctx, w, m, open, prog)
}

// hashSource reads one file through, returning its size and sha256.
func hashSource(ctx context.Context, open func(string) (io.ReadCloser, error), f File, prog progress.Func) (int64, string, error) {
	rc, err := open(f.SourcePath)
	if err != nil {
		return 0, "", err
	}
	defer rc.Close()
	step := "hashing " + f.Path
	prog.Step(step)
	h := sha256.New()
	r := prog.Reader(ctxReader{ctx, rc}, step, sizeOf(rc))
	n, err := io.CopyBuffer(h, r, make([]byte, copyBufSize))
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// sizeOf returns the size of an open file, or 0 when r cannot tell.
func sizeOf(r io.Reader) int64 {
	if s, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := s.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
	}
	return 0
}

// writeBundle writes the manifest and then every file, as a tar stream
// compressed with zstd.
func writeBundle(ctx context.Context, w io.Writer, m Manifest, open func(string) (io.ReadCloser, error), prog progress.Func) error {
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		return fmt.Errorf("starting zstd: %w", err)
	}
	err = writeTar(ctx, zw, m, open, prog)
	if err != nil {
		zw.Reset(io.Discard) // release the encoder without writing more to w
	}
	if cerr := zw.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing bundle: %w", cerr)
	}
	return err
}

func writeTar(ctx context.Context, w io.Writer, m Manifest, open func(string) (io.ReadCloser, error), prog progress.Func) error {
	tw := tar.NewWriter(w)
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding manifest: %w", err)
	}
	data = append(data, '\n')
	if err := tw.WriteHeader(header(ManifestName, int64(len(data)))); err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	const step = "writing bundle"
	prog.Step(step)
	var total, done int64
	for _, f := range m.Files {
		total += f.Size
	}
	for _, f := range m.Files {
		if err := writeEntry(ctx, tw, f, open, shifted(prog, done), step, total); err != nil {
			return fmt.Errorf("writing %s: %w", f.SourcePath, err)
		}
		done += f.Size
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing bundle: %w", err)
	}
	return nil
}

// header is a tar header for a regular file with fixed owner and time, so
// that the same files make the same bundle.
func header(name string, size int64) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: time.Unix(0, 0)}
}

// errChanged reports a file that differs from what the first pass saw.
var errChanged = errdefs.FailedPrecondition("the file changed while it was being exported; stop whatever writes to it and export again")

func writeEntry(ctx context.Context, tw *tar.Writer, f File, open func(string) (io.ReadCloser, error), prog progress.Func, step string, total int64) error {
	rc, err := open(f.SourcePath)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := tw.WriteHeader(header(f.Path, f.Size)); err != nil {
		return err
	}
	h := sha256.New()
	src := io.TeeReader(ctxReader{ctx, rc}, h)
	r := prog.Reader(io.LimitReader(src, f.Size), step, total)
	n, err := io.CopyBuffer(tw, r, make([]byte, copyBufSize))
	if err != nil {
		return err
	}
	if n != f.Size {
		return errChanged
	}
	if extra, err := rc.Read(make([]byte, 1)); extra > 0 || (err != nil && !errors.Is(err, io.EOF)) {
		return errors.Join(errChanged, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return errChanged
	}
	return nil
}
