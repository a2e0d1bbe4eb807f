package kernel

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ulikunitz/xz"

	"banger/internal/errdefs"
)

// Source is a Debian archive: a mirror and a suite of it.
type Source struct {
	Mirror string // e.g. "http://MIRROR/debian", no trailing slash
	Suite  string // e.g. "bookworm"
	HTTP   *http.Client
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
// linux-image-* package it depends on.
func (s Source) Resolve(ctx context.Context, pkg string) (Package, error) {
	if err := s.check(); err != nil {
		return Package{}, err
	}
	idx, err := s.index(ctx)
	if err != nil {
		return Package{}, fmt.Errorf("resolving %s: %w", pkg, err)
	}
	p, err := idx.resolve(pkg)
	if err != nil {
		return Package{}, fmt.Errorf("resolving %s in %s: %w", pkg, s.Suite, err)
	}
	return p, nil
}

// index fetches Packages.xz, falling back to Packages.gz.
func (s Source) index(ctx context.Context) (index, error) {
	base := "dists/" + s.Suite + "/main/binary-amd64/Packages"
	idx, errXZ := s.fetchIndex(ctx, base+".xz", func(r io.Reader) (io.Reader, error) {
		return xz.NewReader(r)
	})
	if errXZ == nil || ctx.Err() != nil {
		return idx, errXZ
	}
	idx, errGZ := s.fetchIndex(ctx, base+".gz", func(r io.Reader) (io.Reader, error) {
		return gzip.NewReader(r)
	})
	if errGZ != nil {
		return nil, fmt.Errorf("fetching package index: %w (after %v)", errGZ, errXZ)
	}
	return idx, nil
}

func (s Source) fetchIndex(ctx context.Context, path string, decompress func(io.Reader) (io.Reader, error)) (index, error) {
	url := s.url(path)
	resp, err := s.get(ctx, url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	r, err := decompress(bufio.NewReaderSize(resp.Body, 1<<20))
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
