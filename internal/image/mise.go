package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

// misePackage is the npm package that carries mise's static Linux build.
const misePackage = "@jdxcode/mise-linux-x64"

// Limits on what the registry may send.
const (
	maxMetadata = 64 << 20
	maxTarball  = 1 << 30
)

// miseRelease is where one mise release is and how to check it.
type miseRelease struct {
	Version   string
	Tarball   string
	Integrity string // SRI, "sha512-BASE64"
}

// packument is the part of npm's package metadata that we read.
type packument struct {
	DistTags map[string]string `json:"dist-tags"`
	Versions map[string]struct {
		Dist struct {
			Tarball   string `json:"tarball"`
			Integrity string `json:"integrity"`
		} `json:"dist"`
	} `json:"versions"`
}

// resolveMise asks the registry for mise's latest release.
func resolveMise(ctx context.Context, client *http.Client, registry string) (miseRelease, error) {
	u, err := url.Parse(registry)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return miseRelease{}, errdefs.InvalidArgument("npm registry %q is not an http(s) URL", registry)
	}
	meta := strings.TrimRight(registry, "/") + "/" + strings.Replace(misePackage, "/", "%2f", 1)
	body, _, err := get(ctx, client, meta, "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8")
	if err != nil {
		return miseRelease{}, err
	}
	defer body.Close()
	var p packument
	if err := json.NewDecoder(io.LimitReader(body, maxMetadata)).Decode(&p); err != nil {
		return miseRelease{}, fmt.Errorf("reading %s: %w", meta, err)
	}
	v := p.DistTags["latest"]
	if v == "" {
		return miseRelease{}, fmt.Errorf("%s: no latest release of %s", meta, misePackage)
	}
	ver, ok := p.Versions[v]
	if !ok || ver.Dist.Tarball == "" {
		return miseRelease{}, fmt.Errorf("%s: release %s of %s has no tarball", meta, v, misePackage)
	}
	return miseRelease{Version: v, Tarball: ver.Dist.Tarball, Integrity: ver.Dist.Integrity}, nil
}

// get fetches url, turning anything but 200 into an error that names it.
// It returns the body and its length (0 when unknown).
func get(ctx context.Context, client *http.Client, url, accept string) (io.ReadCloser, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, errdefs.Wrap(errdefs.KindUnavailable, fmt.Errorf("fetching %s: %w", url, err))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil, 0, errdefs.NotFound("fetching %s: not found", url)
		}
		return nil, 0, errdefs.Unavailable("fetching %s: %s", url, resp.Status)
	}
	return resp.Body, max(resp.ContentLength, 0), nil
}

// fetchMise downloads the release's tarball, checks its integrity, and
// writes the mise binary in it to dst (the tarball is kept beside dst
// while it is checked).
func fetchMise(ctx context.Context, client *http.Client, rel miseRelease, dst string, prog progress.Func, step string) error {
	want, err := sha512Digests(rel.Integrity)
	if err != nil {
		return fmt.Errorf("mise %s: %w", rel.Version, err)
	}
	body, size, err := get(ctx, client, rel.Tarball, "")
	if err != nil {
		return err
	}
	defer body.Close()
	tgz, err := os.CreateTemp(filepath.Dir(dst), "mise-*.tgz")
	if err != nil {
		return err
	}
	defer os.Remove(tgz.Name())
	defer tgz.Close()
	h := sha512.New()
	n, err := io.Copy(io.MultiWriter(tgz, h), prog.Reader(io.LimitReader(body, maxTarball+1), step, size))
	if err != nil {
		return fmt.Errorf("downloading %s: %w", rel.Tarball, err)
	}
	if n > maxTarball {
		return fmt.Errorf("downloading %s: larger than %d bytes", rel.Tarball, int64(maxTarball))
	}
	if !matchesAny(h.Sum(nil), want) {
		return fmt.Errorf("mise %s from %s does not match the registry's sha512 integrity; refusing it", rel.Version, rel.Tarball)
	}
	if _, err := tgz.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return extractMise(tgz, dst)
}

// sha512Digests reads the sha512 hashes out of a Subresource Integrity
// string. An integrity without one is refused: mise runs as root in every
// VM, so it is never installed unchecked.
func sha512Digests(sri string) ([][]byte, error) {
	var out [][]byte
	for _, f := range strings.Fields(sri) {
		b64, ok := strings.CutPrefix(f, "sha512-")
		if !ok {
			continue
		}
		b64, _, _ = strings.Cut(b64, "?")
		d, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(d) != sha512.Size {
			return nil, fmt.Errorf("bad sha512 integrity %q", f)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the registry gives no sha512 integrity (%q); refusing an unchecked download", sri)
	}
	return out, nil
}

func matchesAny(sum []byte, want [][]byte) bool {
	for _, w := range want {
		if subtle.ConstantTimeCompare(sum, w) == 1 {
			return true
		}
	}
	return false
}

// miseInTarball is where npm packages put the binary.
const miseInTarball = "package/bin/mise"

// extractMise copies package/bin/mise out of a gzipped npm tarball.
func extractMise(tgz io.Reader, dst string) error {
	zr, err := gzip.NewReader(tgz)
	if err != nil {
		return fmt.Errorf("reading mise tarball: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("mise tarball has no %s", miseInTarball)
		}
		if err != nil {
			return fmt.Errorf("reading mise tarball: %w", err)
		}
		if h.Name != miseInTarball || h.Typeflag != tar.TypeReg {
			continue
		}
		return writeExecutable(dst, tr)
	}
}

// writeExecutable writes an ELF binary to dst, mode 0755.
func writeExecutable(dst string, r io.Reader) error {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil || !bytes.Equal(magic[:], []byte("\x7fELF")) {
		return fmt.Errorf("%s in the mise tarball is not a Linux binary", miseInTarball)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, io.MultiReader(bytes.NewReader(magic[:]), r))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return nil
}
