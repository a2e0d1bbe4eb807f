package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/klauspost/compress/zstd"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

// maxManifestSize bounds the manifest entry, so a hostile bundle cannot make
// the reader allocate without limit.
const maxManifestSize = 4 << 20

var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// ReadManifest reads the manifest at the head of a bundle stream, plain or
// zstd-compressed, and validates it. It stops after the manifest, having
// read little more of r than that.
func ReadManifest(r io.Reader) (Manifest, error) {
	tr, closeFn, err := openTar(r)
	if err != nil {
		return Manifest{}, err
	}
	defer closeFn()
	return readManifest(tr)
}

// openTar detects a zstd frame or a tar header at the head of r and returns
// a tar reader over the uncompressed stream, and a function that releases
// the decompressor.
func openTar(r io.Reader) (*tar.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(len(zstdMagic))
	if err != nil {
		return nil, nil, notBundle(err)
	}
	if !bytes.Equal(head, zstdMagic) {
		if err := checkTarMagic(br); err != nil {
			return nil, nil, err
		}
		return tar.NewReader(br), func() {}, nil
	}
	// One decoder, no goroutines: reads of r (and the progress and context
	// checks wrapped around it) stay on the caller's goroutine.
	dec, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, nil, notBundle(err)
	}
	zbr := bufio.NewReaderSize(dec, 64<<10)
	if err := checkTarMagic(zbr); err != nil {
		dec.Close()
		return nil, nil, err
	}
	return tar.NewReader(zbr), dec.Close, nil
}

// checkTarMagic looks for "ustar" at offset 257 of the first header.
func checkTarMagic(br *bufio.Reader) error {
	head, err := br.Peek(262)
	if err != nil {
		return notBundle(err)
	}
	if string(head[257:262]) != "ustar" {
		return notBundle(nil)
	}
	return nil
}

// notBundle reports a stream whose head is neither a tar header nor a zstd
// frame holding one. Cancellation passes through unchanged.
func notBundle(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := "not a banger bundle: expected a tar stream, plain or zstd-compressed, starting with " + ManifestName
	if err != nil && !errors.Is(err, io.EOF) {
		return errdefs.InvalidArgument("%s: %v", msg, err)
	}
	return errdefs.InvalidArgument("%s", msg)
}

// readManifest reads the first tar entry, which must be the manifest.
func readManifest(tr *tar.Reader) (Manifest, error) {
	hdr, err := tr.Next()
	if err != nil {
		return Manifest{}, corrupted(err, "reading the first entry")
	}
	if hdr.Name != ManifestName {
		return Manifest{}, errdefs.InvalidArgument("bundle is corrupted: its first entry is %q, not %s", hdr.Name, ManifestName)
	}
	if !isRegular(hdr) || hdr.Size > maxManifestSize {
		return Manifest{}, errdefs.InvalidArgument("bundle is corrupted: %s is not a regular file under %d bytes", ManifestName, maxManifestSize)
	}
	data, err := io.ReadAll(tr)
	if err != nil {
		return Manifest{}, corrupted(err, "reading "+ManifestName)
	}
	return decodeManifest(data)
}

// isRegular reports a regular file entry. archive/tar already turns the
// legacy TypeRegA into TypeReg.
func isRegular(hdr *tar.Header) bool { return hdr.Typeflag == tar.TypeReg }

// corrupted classifies an error met while reading a bundle: cancellation
// stays as it is; anything else means the stream is damaged or not a bundle.
func corrupted(err error, doing string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return errdefs.InvalidArgument("bundle is corrupted: %s: %v", doing, err)
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// shifted returns a progress.Func that adds base to byte counts, so a reader
// over one piece of a larger whole reports the whole's running total.
func shifted(prog progress.Func, base int64) progress.Func {
	if prog == nil || base == 0 {
		return prog
	}
	return func(e progress.Event) {
		if e.Done != 0 || e.Total != 0 {
			e.Done += base
		}
		prog(e)
	}
}
