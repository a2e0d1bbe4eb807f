package oci

import (
	"io"

	"banger/internal/config"
	"banger/internal/errdefs"
)

// DefaultMaxUnpacked bounds what one pull unpacks, all layers together:
// the bytes decompressed and, apart, the bytes written into the tree. It is
// far above any real image and far below what a compression bomb would
// write to the disk.
const DefaultMaxUnpacked = 32 << 30

// defaultMaxEntries bounds the tar entries of one pull, which each cost
// memory while flattening. Real images have a few hundred thousand.
const defaultMaxEntries = 4 << 20

// budget counts what a pull has unpacked against its limits.
type budget struct {
	maxBytes   int64
	maxEntries int64
	read       int64 // decompressed bytes
	written    int64 // file content bytes, sparse holes included
	entries    int64
}

func newBudget(maxBytes int64) *budget {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxUnpacked
	}
	return &budget{maxBytes: maxBytes, maxEntries: defaultMaxEntries}
}

func (b *budget) tooBig() error {
	return errdefs.InvalidArgument("layer unpacks past %s, banger's limit for one image: the image is broken or built to fill the disk; use another image",
		config.Size(b.maxBytes))
}

// entry counts one tar entry.
func (b *budget) entry() error {
	if b.entries++; b.entries > b.maxEntries {
		return errdefs.InvalidArgument("layer holds more than %d entries, banger's limit for one image: the image is broken or hostile; use another image", b.maxEntries)
	}
	return nil
}

// write reserves n bytes of file content.
func (b *budget) write(n int64) error {
	if n < 0 || n > b.maxBytes-b.written {
		return b.tooBig()
	}
	b.written += n
	return nil
}

// reader counts what r yields and fails once it passes the limit.
func (b *budget) reader(r io.Reader) io.Reader { return &budgetReader{r: r, b: b} }

type budgetReader struct {
	r io.Reader
	b *budget
}

func (br *budgetReader) Read(p []byte) (int, error) {
	left := br.b.maxBytes - br.b.read
	if left <= 0 {
		return 0, br.b.tooBig()
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := br.r.Read(p)
	br.b.read += int64(n)
	return n, err
}
