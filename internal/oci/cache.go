package oci

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"banger/internal/atomicfile"
	"banger/internal/errdefs"
)

// blobCache stores blobs by content under dir/sha256/<hex>. A blob appears
// only once complete and verified, so a present blob is a good one (and is
// checked again whenever it is read).
type blobCache struct{ dir string }

// path is where the blob with digest h lives. Digests come from a remote
// manifest, so they are checked before they become file names.
func (c blobCache) path(h v1.Hash) (string, error) {
	if h.Algorithm != "sha256" || len(h.Hex) != sha256.Size*2 {
		return "", errdefs.InvalidArgument("unsupported blob digest %q: only sha256 is supported", h)
	}
	if _, err := hex.DecodeString(h.Hex); err != nil {
		return "", errdefs.InvalidArgument("malformed blob digest %q", h)
	}
	return filepath.Join(c.dir, h.Algorithm, h.Hex), nil
}

// has reports whether the blob is cached with the expected size (size < 0
// skips the size check).
func (c blobCache) has(h v1.Hash, size int64) bool {
	p, err := c.path(h)
	if err != nil {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && (size < 0 || fi.Size() == size)
}

// store copies r into the cache as blob h, verifying size (when >= 0) and
// digest. It writes a temporary file beside the blob and renames it, so
// concurrent or interrupted stores never leave a partial blob.
func (c blobCache) store(h v1.Hash, size int64, r io.Reader) error {
	p, err := c.path(h)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("creating blob cache: %w", err)
	}
	return atomicfile.WriteFrom(p, 0o600, func(w io.Writer) error {
		sum := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, sum), r)
		if err != nil {
			return err
		}
		if size >= 0 && n != size {
			return fmt.Errorf("blob %s: got %d bytes, want %d", h, n, size)
		}
		if got := hex.EncodeToString(sum.Sum(nil)); got != h.Hex {
			return fmt.Errorf("blob %s: content has digest sha256:%s", h, got)
		}
		return nil
	})
}

// open reads cached blob h. The reader hashes what it reads; call verify
// after use to drain it and compare against h.
func (c blobCache) open(h v1.Hash) (*blobReader, error) {
	p, err := c.path(h)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	return &blobReader{f: f, sum: sum, r: io.TeeReader(f, sum), want: h}, nil
}

// remove drops a blob, for one found corrupt.
func (c blobCache) remove(h v1.Hash) {
	if p, err := c.path(h); err == nil {
		os.Remove(p)
	}
}

// readAll returns a cached blob's verified content, or fs.ErrNotExist.
func (c blobCache) readAll(h v1.Hash) ([]byte, error) {
	br, err := c.open(h)
	if err != nil {
		return nil, err
	}
	defer br.Close()
	data, err := io.ReadAll(br)
	if err != nil {
		return nil, err
	}
	if err := br.verify(); err != nil {
		c.remove(h)
		return nil, fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	return data, nil
}

type blobReader struct {
	f    *os.File
	sum  hash.Hash
	r    io.Reader
	want v1.Hash
}

func (b *blobReader) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *blobReader) Close() error { return b.f.Close() }

// verify reads the rest of the blob and checks its digest.
func (b *blobReader) verify() error {
	if _, err := io.Copy(io.Discard, b.r); err != nil {
		return err
	}
	if got := hex.EncodeToString(b.sum.Sum(nil)); got != b.want.Hex {
		return fmt.Errorf("%s has digest sha256:%s", b.want, got)
	}
	return nil
}
