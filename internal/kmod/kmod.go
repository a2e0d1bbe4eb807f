// Package kmod reads kernel module files, compressed or not: banger-init
// loads them in the guest and the initramfs builder reads their metadata
// on the host. It is apart from both, and from package guestabi, because
// of the xz and zstd decoders it links.
package kmod

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"banger/internal/guestabi"
)

// Decompress returns the ELF image of the module file called name whose
// contents are data: data itself for .ko, decompressed for .ko.xz,
// .ko.zst and .ko.gz.
func Decompress(name string, data []byte) ([]byte, error) {
	c, ok := guestabi.ModuleCompression(name)
	if !ok {
		return nil, fmt.Errorf("%s is not a kernel module (.ko, .ko.xz, .ko.zst, .ko.gz)", name)
	}
	var r io.Reader
	var err error
	switch c {
	case "":
		return data, nil
	case ".xz":
		r, err = xz.NewReader(bytes.NewReader(data))
	case ".zst":
		var d *zstd.Decoder
		d, err = zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1))
		if err == nil {
			defer d.Close()
			r = d
		}
	case ".gz":
		r, err = gzip.NewReader(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("decompressing %s: %w", name, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("decompressing %s: %w", name, err)
	}
	return out, nil
}
