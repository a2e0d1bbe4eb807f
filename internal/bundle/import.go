package bundle

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

// ImportOptions tune Import.
type ImportOptions struct {
	// SHA256 is the bundle file's sha256 in hex, learnt out of band (from
	// whoever exported it, not from where the bundle comes from). When it
	// is set, a bundle whose bytes differ is refused before anything is
	// unpacked. A bundle fetched over plain http is refused without it:
	// anyone on the path could swap it, manifest and all.
	SHA256   string
	Progress progress.Func
}

// Import unpacks the bundle at src, a local path or an http(s) URL, into
// destDir, which must not exist, and returns its manifest with each
// File.SourcePath set to where the file now is.
//
// A URL is first downloaded to destDir+".partial" (with destDir+
// ".partial.meta" recording the URL and its ETag or Last-Modified), resuming
// an earlier download with Range and If-Range when the server allows.
// With o.SHA256 set, the whole bundle file is checked against it before
// anything is unpacked; a plain http URL without it is refused before any
// request, and so is a redirect from https to plain http.
// Files are unpacked into a staging directory beside destDir and checked
// against the manifest's sizes and sha256s; only when all of them match is
// the staging directory renamed to destDir. On failure nothing is left at
// destDir. The .partial file is removed once it has been unpacked or found
// corrupted, and kept when the import was interrupted, for the next try.
func Import(ctx context.Context, src string, destDir string, o ImportOptions) (Manifest, error) {
	if err := ctx.Err(); err != nil {
		return Manifest{}, err
	}
	want, err := parseSHA256(o.SHA256)
	if err != nil {
		return Manifest{}, err
	}
	u, err := remoteURL(src)
	if err != nil {
		return Manifest{}, err
	}
	if u != nil && u.Scheme != "https" && want == "" {
		return Manifest{}, errdefs.InvalidArgument(
			"refusing to import %s over plain http without a checksum: anyone on the way could swap the bundle; "+
				"pass --sha256 with its sha256 from a source you trust (sha256sum of the exported file), or fetch it over https, or give a file path",
			redact(u))
	}
	prog := o.Progress
	destDir = filepath.Clean(destDir)
	if err := mustNotExist(destDir); err != nil {
		return Manifest{}, err
	}
	parent := filepath.Dir(destDir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return Manifest{}, fmt.Errorf("creating %s: %w", parent, err)
	}
	if u == nil {
		return unpackFile(ctx, src, destDir, want, prog)
	}
	partial := filepath.Join(parent, filepath.Base(destDir)+".partial")
	if err := download(ctx, newClient(want != ""), u, partial, prog); err != nil {
		return Manifest{}, err
	}
	m, err := unpackFile(ctx, partial, destDir, want, prog)
	if err == nil || errors.Is(err, errdefs.ErrInvalidArgument) {
		removePartial(partial) // used, or useless: a retry must download afresh
	}
	return m, err
}

// remoteURL returns src as a URL when it is one, nil for a local path.
func remoteURL(src string) (*url.URL, error) {
	if !strings.Contains(src, "://") {
		return nil, nil
	}
	u, err := url.Parse(src)
	if err != nil {
		return nil, errdefs.InvalidArgument("bundle URL %q: %v", src, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errdefs.InvalidArgument("cannot import from %s: give a local file or an http(s) URL", redact(u))
	}
	return u, nil
}

func mustNotExist(path string) error {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return errdefs.FailedPrecondition("%s already exists: remove it or import under another name", path)
	case errors.Is(err, fs.ErrNotExist):
		return nil
	default:
		return err
	}
}

// unpackFile unpacks the bundle file at path into destDir through a
// staging directory, after checking the file against want when it is set.
func unpackFile(ctx context.Context, path, destDir, want string, prog progress.Func) (Manifest, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, errdefs.NotFound("bundle %s not found", path)
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("opening bundle: %w", err)
	}
	defer f.Close()
	if want != "" {
		if err := checkSHA256(ctx, f, want, prog); err != nil {
			return Manifest{}, err
		}
	}
	const step = "unpacking"
	prog.Step(step)
	tr, release, err := openTar(prog.Reader(ctxReader{ctx, f}, step, sizeOf(f)))
	if err != nil {
		return Manifest{}, err
	}
	defer release()
	m, err := readManifest(tr)
	if err != nil {
		return Manifest{}, err
	}
	staging, err := os.MkdirTemp(filepath.Dir(destDir), "."+filepath.Base(destDir)+".staging-")
	if err != nil {
		return Manifest{}, fmt.Errorf("creating staging directory: %w", err)
	}
	if err := extract(ctx, tr, m, staging); err != nil {
		os.RemoveAll(staging)
		return Manifest{}, err
	}
	if err := commitDir(staging, destDir); err != nil {
		os.RemoveAll(staging)
		return Manifest{}, err
	}
	prog.Note(step, fmt.Sprintf("verified %d files of %s %s", len(m.Files), m.Name, m.Version))
	for i := range m.Files {
		m.Files[i].SourcePath = filepath.Join(destDir, filepath.FromSlash(m.Files[i].Path))
	}
	return m, nil
}

// extract writes every entry after the manifest into dir, refusing entries
// the manifest does not list and checking each file's size and sha256.
func extract(ctx context.Context, tr *tar.Reader, m Manifest, dir string) error {
	want := make(map[string]File, len(m.Files))
	for _, f := range m.Files {
		want[f.Path] = f
	}
	seen := make(map[string]bool, len(m.Files))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return corrupted(err, "reading the next entry")
		}
		f, ok := want[hdr.Name]
		switch {
		case !ok:
			return errdefs.InvalidArgument("bundle is corrupted: entry %q is not listed in the manifest", hdr.Name)
		case seen[hdr.Name]:
			return errdefs.InvalidArgument("bundle is corrupted: entry %q appears twice", hdr.Name)
		case !isRegular(hdr):
			return errdefs.InvalidArgument("bundle is corrupted: entry %q is not a regular file", hdr.Name)
		case hdr.Size != f.Size:
			return errdefs.InvalidArgument("bundle is corrupted: file %s is %d bytes, the manifest says %d", f.Path, hdr.Size, f.Size)
		}
		seen[hdr.Name] = true
		if err := extractFile(ctx, tr, f, dir); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, f := range m.Files {
		if !seen[f.Path] {
			return errdefs.InvalidArgument("bundle is corrupted: file %s is listed in the manifest but missing", f.Path)
		}
	}
	return nil
}

// extractFile writes one entry sparse and checks it against f.
func extractFile(ctx context.Context, r io.Reader, f File, dir string) error {
	dst := filepath.Join(dir, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("unpacking %s: %w", f.Path, err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("unpacking %s: %w", f.Path, err)
	}
	src := &errReader{r: ctxReader{ctx, r}}
	n, sum, err := writeSparse(out, src)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil && src.err != nil:
		return corrupted(src.err, "reading "+f.Path)
	case err != nil:
		return fmt.Errorf("unpacking %s: %w", f.Path, err)
	case n != f.Size:
		return errdefs.InvalidArgument("bundle is corrupted: file %s is %d bytes, the manifest says %d", f.Path, n, f.Size)
	case sum != f.SHA256:
		return errdefs.InvalidArgument("bundle is corrupted: file %s has sha256 %s, the manifest says %s; fetch or export the bundle again", f.Path, sum, f.SHA256)
	}
	return nil
}

// errReader remembers the first error other than io.EOF that r returned,
// to tell a damaged stream from a failing disk.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && e.err == nil {
		e.err = err
	}
	return n, err
}

// commitDir moves the verified staging directory to destDir, refusing to
// replace anything that appeared there meanwhile.
func commitDir(staging, destDir string) error {
	if err := mustNotExist(destDir); err != nil {
		return err
	}
	if err := os.Rename(staging, destDir); err != nil {
		return fmt.Errorf("moving the unpacked bundle to %s: %w", destDir, err)
	}
	return nil
}
