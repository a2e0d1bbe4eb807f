package kernel

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ulikunitz/xz"

	"banger/internal/errdefs"
)

// Source is a Debian archive: a mirror and a suite of it. What the
// mirror serves is trusted only as far as a chain of hashes leads back to
// the suite's InRelease file signed by a key of Keyring: the mirror itself
// may be plain http and anyone's.
type Source struct {
	Mirror  string // e.g. "http://MIRROR/debian", no trailing slash
	Suite   string // e.g. "bookworm"
	Keyring string // OpenPGP keyring to verify InRelease with; "" means DefaultKeyring
	HTTP    *http.Client
	Now     func() time.Time // the clock Valid-Until is checked by; nil means time.Now
}

func (s Source) keyring() string {
	if s.Keyring != "" {
		return s.Keyring
	}
	return DefaultKeyring
}

func (s Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s Source) client() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	return http.DefaultClient
}

func (s Source) url(path string) string {
	return strings.TrimSuffix(s.Mirror, "/") + "/" + strings.TrimPrefix(path, "/")
}

func (s Source) check() error {
	if s.Mirror == "" {
		return errdefs.FailedPrecondition("no Debian mirror configured; set debian_mirror in banger's config")
	}
	if s.Suite == "" {
		return errdefs.InvalidArgument("no Debian suite given")
	}
	return nil
}

// Resolve looks pkg up in the suite's main/binary-amd64 index. A
// metapackage such as linux-image-cloud-amd64 resolves to the versioned
// linux-image-* package it depends on. The index is checked against the
// suite's verified InRelease, so the Package's SHA256 can be trusted.
func (s Source) Resolve(ctx context.Context, pkg string) (Package, error) {
	if err := s.check(); err != nil {
		return Package{}, err
	}
	rel, err := s.release(ctx)
	if err != nil {
		return Package{}, fmt.Errorf("resolving %s: %w", pkg, err)
	}
	idx, err := s.index(ctx, rel)
	if err != nil {
		return Package{}, fmt.Errorf("resolving %s: %w", pkg, err)
	}
	p, err := idx.resolve(pkg)
	if err != nil {
		return Package{}, fmt.Errorf("resolving %s in %s: %w", pkg, s.Suite, err)
	}
	return p, nil
}

// indexFormat is one compression of the Packages index.
type indexFormat struct {
	ext  string
	open func(io.Reader) (io.Reader, error)
}

var indexFormats = []indexFormat{
	{".xz", func(r io.Reader) (io.Reader, error) { return xz.NewReader(r) }},
	{".gz", func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }},
}

const indexPath = "main/binary-amd64/Packages"

// index fetches Packages.xz, falling back to Packages.gz, whichever rel
// lists.
func (s Source) index(ctx context.Context, rel release) (index, error) {
	var errs []error
	for _, f := range indexFormats {
		want, ok := rel.files[indexPath+f.ext]
		if !ok {
			continue
		}
		idx, err := s.fetchIndex(ctx, indexPath+f.ext, want, f.open)
		if err == nil || ctx.Err() != nil {
			return idx, err
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, errdefs.FailedPrecondition("the signed release of %s lists no %s.xz or .gz; set another debian_mirror", s.Suite, indexPath)
	}
	return nil, fmt.Errorf("fetching package index: %w", errors.Join(errs...))
}

// fetchIndex downloads the compressed index, checks it against the size
// and SHA256 the release lists, and only then decompresses and parses it.
func (s Source) fetchIndex(ctx context.Context, path string, want fileSum, decompress func(io.Reader) (io.Reader, error)) (index, error) {
	url := s.url("dists/" + s.Suite + "/" + path)
	data, err := s.fetchAtMost(ctx, url, want.size)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); int64(len(data)) != want.size || got != want.sha256 {
		return nil, errdefs.Unavailable(
			"%s does not match the signed release: %d bytes with sha256 %s, the release says %d bytes with sha256 %s; "+
				"the mirror may be mid-sync or tampered with: try again later or set another debian_mirror",
			url, len(data), got, want.size, want.sha256)
	}
	r, err := decompress(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decompressing %s: %w", url, err)
	}
	idx, err := parseIndex(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	return idx, nil
}

// get issues a GET and turns a non-200 answer into an error naming the URL.
func (s Source) get(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, errdefs.InvalidArgument("bad mirror URL %q: %v", url, err)
	}
	resp, err := s.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("GET %s: %w", url, ctx.Err())
		}
		return nil, errdefs.Wrap(errdefs.KindUnavailable, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, errdefs.NotFound("GET %s: %s", url, resp.Status)
	}
	return nil, errdefs.Unavailable("GET %s: %s", url, resp.Status)
}
