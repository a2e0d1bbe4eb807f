package kernel

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"

	"banger/internal/errdefs"
)

const (
	lz4LegacyMagic = 0x184C2102
	lz4LegacyBlock = 8 << 20 // the legacy format's uncompressed block size
	// maxVmlinux bounds decompression, so a hostile file cannot exhaust
	// memory; real vmlinux files are well under 100 MiB.
	maxVmlinux = 512 << 20
)

var errTooLarge = errdefs.InvalidArgument("decompressed payload exceeds %d MiB", maxVmlinux>>20)

// decompressPayload picks a decompressor by the payload's magic.
func decompressPayload(p []byte) ([]byte, error) {
	switch {
	case len(p) >= 4 && binary.LittleEndian.Uint32(p) == lz4LegacyMagic:
		return unlz4Legacy(p)
	case bytes.HasPrefix(p, []byte{0x1f, 0x8b}):
		r, err := gzip.NewReader(bytes.NewReader(p))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		r.Multistream(false)
		return readAll(r, p, "gzip")
	case bytes.HasPrefix(p, []byte("\xfd7zXZ\x00")):
		r, err := xz.ReaderConfig{SingleStream: true}.NewReader(bytes.NewReader(p))
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		return readAll(r, p, "xz")
	case bytes.HasPrefix(p, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		d, err := zstd.NewReader(bytes.NewReader(p), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		defer d.Close()
		return readAll(d, p, "zstd")
	}
	return nil, errdefs.InvalidArgument("unsupported payload compression (magic % x); banger reads lz4, gzip, xz and zstd", p[:min(len(p), 4)])
}

// readAll reads r to its end. The kernel appends the uncompressed size to
// its payload, which some decoders take for a broken next stream: an
// error after output of exactly that size is not an error.
func readAll(r io.Reader, payload []byte, format string) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, maxVmlinux+1))
	if len(out) > maxVmlinux {
		return nil, errTooLarge
	}
	if err != nil && !(len(out) > 0 && sizeTrailer(payload) == uint32(len(out))) {
		return nil, fmt.Errorf("%s: %w", format, err)
	}
	return out, nil
}

func sizeTrailer(p []byte) uint32 {
	if len(p) < 4 {
		return 0
	}
	return binary.LittleEndian.Uint32(p[len(p)-4:])
}

// unlz4Legacy decodes the LZ4 legacy frame the kernel uses: the magic,
// then blocks of (le32 compressed size, data), each up to 8 MiB
// uncompressed, then the kernel's 4-byte size trailer.
func unlz4Legacy(p []byte) ([]byte, error) {
	var out []byte
	if n := int(sizeTrailer(p)); n <= maxVmlinux && n <= 256*len(p) {
		out = make([]byte, 0, n)
	}
	for in := p; len(in) >= 4; {
		n := binary.LittleEndian.Uint32(in)
		switch {
		case n == lz4LegacyMagic:
			in = in[4:]
			continue
		case len(in) == 4:
			return out, nil // the size trailer
		case uint64(n) > uint64(len(in)-4):
			return nil, fmt.Errorf("lz4: block of %d bytes at offset %d runs past the payload", n, len(p)-len(in))
		}
		// LZ4 expands at most 255:1, which bounds a block's output.
		bound := min(lz4LegacyBlock, 256*int(n)+64)
		out = slices.Grow(out, bound)
		m, err := lz4.UncompressBlock(in[4:4+n], out[len(out):len(out)+bound])
		if err != nil {
			return nil, fmt.Errorf("lz4: block at offset %d: %w", len(p)-len(in), err)
		}
		if out = out[:len(out)+m]; len(out) > maxVmlinux {
			return nil, errTooLarge
		}
		in = in[4+n:]
	}
	return out, nil
}
