package guestinit

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// moduleCompression returns the compression suffix of a module file name
// ("" for a plain .ko) and whether the name is a module at all.
func moduleCompression(name string) (string, bool) {
	for _, c := range []string{"", ".xz", ".zst", ".gz"} {
		if strings.HasSuffix(name, ".ko"+c) {
			return c, true
		}
	}
	return "", false
}

// DecompressModule returns the ELF image of the module file called name
// whose contents are data: data itself for .ko, decompressed for .ko.xz,
// .ko.zst and .ko.gz.
func DecompressModule(name string, data []byte) ([]byte, error) {
	c, ok := moduleCompression(name)
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
