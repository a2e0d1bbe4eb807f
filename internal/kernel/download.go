package kernel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"

	"banger/internal/atomicfile"
	"banger/internal/errdefs"
	"banger/internal/progress"
)

// Download fetches p from the mirror into dst, reporting bytes under the
// "download" step. It checks p's size and SHA256 before dst appears; on
// a mismatch nothing is left behind.
func (s Source) Download(ctx context.Context, p Package, dst string, prog progress.Func) error {
	if err := s.check(); err != nil {
		return err
	}
	if p.Filename == "" || p.SHA256 == "" {
		return errdefs.InvalidArgument("package %s has no filename or sha256 to download by", p.Name)
	}
	url := s.url(p.Filename)
	resp, err := s.get(ctx, url)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", p.Name, err)
	}
	defer resp.Body.Close()
	if err := writeVerified(dst, prog.Reader(resp.Body, "download", p.Size), p); err != nil {
		return fmt.Errorf("downloading %s from %s: %w", p.Name, url, err)
	}
	return nil
}

// writeVerified replaces path with r once it is checked against p; on a
// mismatch path is left as it was.
func writeVerified(path string, r io.Reader, p Package) error {
	if p.Size > 0 {
		r = io.LimitReader(r, p.Size+1) // one byte more reveals an overlong body
	}
	return atomicfile.WriteFrom(path, 0o644, func(w io.Writer) error {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), r)
		if err != nil {
			return err
		}
		return checkDigest(n, h, p)
	})
}

// verifyFile reports whether path already holds p, as a cached download.
func verifyFile(path string, p Package) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	return checkDigest(n, h, p)
}

func checkDigest(n int64, h hash.Hash, p Package) error {
	const hint = "the mirror may be mid-sync or the file corrupted; try again or set another debian_mirror"
	if p.Size > 0 && n != p.Size {
		return errdefs.Unavailable("size mismatch: got %d bytes, want %d (%s)", n, p.Size, hint)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != p.SHA256 {
		return errdefs.Unavailable("sha256 mismatch: got %s, want %s (%s)", got, p.SHA256, hint)
	}
	return nil
}
