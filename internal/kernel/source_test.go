package kernel

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

const testKver = "6.1.0-99-cloud-amd64"

// archive is a fake Debian mirror: files by path under /debian/.
type archive map[string][]byte

// serve serves a on loopback, as a Source that trusts archiveKey.
func (a archive) serve(t *testing.T) Source {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := a[strings.TrimPrefix(r.URL.Path, "/debian/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return Source{Mirror: srv.URL + "/debian", Suite: "bookworm", HTTP: srv.Client(), Keyring: writeKeyring(t, archiveKey(t))}
}

// distsDir holds the test suite's release and index files.
const distsDir = "dists/bookworm/"

// testRelease is the head of the test suite's Release file, as Debian
// writes it for an old stable release.
const testRelease = "Origin: Debian\nLabel: Debian\nSuite: oldstable\nCodename: bookworm\n"

// releaseText is head followed by the SHA256 of every file under
// distsDir except InRelease, as a Release file lists them.
func (a archive) releaseText(head string) string {
	var b strings.Builder
	b.WriteString(head + "SHA256:\n")
	for _, name := range slices.Sorted(maps.Keys(a)) {
		rel, ok := strings.CutPrefix(name, distsDir)
		if ok && rel != "InRelease" {
			fmt.Fprintf(&b, " %s %d %s\n", sha256Hex(a[name]), len(a[name]), rel)
		}
	}
	return b.String()
}

// sign writes distsDir/InRelease: releaseText(head) signed by signers.
func (a archive) sign(t *testing.T, head string, signers ...*openpgp.Entity) {
	t.Helper()
	a[distsDir+"InRelease"] = clearsignWith(t, a.releaseText(head), nil, signers...)
}

// newArchive serves deb as the package behind linux-image-cloud-amd64,
// with the index compressed by compress and named with ext.
func newArchive(t *testing.T, deb []byte, ext string, compress func(*testing.T, []byte) []byte) archive {
	t.Helper()
	debPath := "pool/main/l/linux-signed-amd64/linux-image-" + testKver + "_6.1.999-1_amd64.deb"
	packages := fmt.Sprintf(`Package: linux-image-cloud-amd64
Version: 6.1.999-1
Depends: linux-image-%[1]s (= 6.1.999-1)
Filename: pool/main/l/linux-signed-amd64/linux-image-cloud-amd64_6.1.999-1_amd64.deb
Size: 10
SHA256: 00

Package: linux-image-%[1]s
Version: 6.1.999-1
Depends: kmod
Filename: %[2]s
Size: %[3]d
SHA256: %[4]s
`, testKver, debPath, len(deb), sha256Hex(deb))
	a := archive{distsDir + indexPath + ext: compress(t, []byte(packages)), debPath: deb}
	a.sign(t, testRelease, archiveKey(t))
	return a
}

func TestResolveAndDownloadXZ(t *testing.T) {
	deb := makeDeb(t, []tarEntry{file("./boot/vmlinuz-"+testKver, "kernel")})
	src := newArchive(t, deb, ".xz", xzBytes).serve(t)
	p, err := src.Resolve(context.Background(), "linux-image-cloud-amd64")
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if p.Name != "linux-image-"+testKver || p.Size != int64(len(deb)) {
		t.Fatalf("Resolve = %+v, want the versioned image of %d bytes", p, len(deb))
	}
	dst := filepath.Join(t.TempDir(), "k.deb")
	var last progress.Event
	prog := progress.Func(func(e progress.Event) { last = e })
	if err := src.Download(context.Background(), p, dst, prog); err != nil {
		t.Fatalf("Download: %v", err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || string(got) != string(deb) {
		t.Fatalf("downloaded file differs from the served .deb (err %v)", err)
	}
	if last.Step != "download" || last.Done != int64(len(deb)) || last.Total != int64(len(deb)) {
		t.Fatalf("last progress = %+v, want all %d bytes under download", last, len(deb))
	}
}

func TestResolveFallsBackToGzip(t *testing.T) {
	src := newArchive(t, []byte("deb"), ".gz", gzipBytes).serve(t)
	p, err := src.Resolve(context.Background(), "linux-image-cloud-amd64")
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if p.Name != "linux-image-"+testKver {
		t.Fatalf("Resolve = %s, want linux-image-%s", p.Name, testKver)
	}
}

func TestResolveMissingIndexNamesURL(t *testing.T) {
	a := newArchive(t, []byte("deb"), ".gz", gzipBytes)
	delete(a, distsDir+indexPath+".gz")
	src := a.serve(t)
	_, err := src.Resolve(context.Background(), "linux-image-cloud-amd64")
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("Resolve = %v, want not found", err)
	}
	want := src.Mirror + "/" + distsDir + indexPath + ".gz"
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Resolve error %q does not name %s and the 404", err, want)
	}
}

func TestDownloadChecksumMismatch(t *testing.T) {
	deb := []byte("not what the index says")
	a := newArchive(t, deb, ".xz", xzBytes)
	src := a.serve(t)
	p, err := src.Resolve(context.Background(), "linux-image-cloud-amd64")
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	a[p.Filename] = []byte("tampered with, same len")
	dst := filepath.Join(t.TempDir(), "k.deb")
	err = src.Download(context.Background(), p, dst, nil)
	if err == nil || !strings.Contains(err.Error(), "sha256 mismatch") {
		t.Fatalf("Download = %v, want a sha256 mismatch", err)
	}
	if left, err := os.ReadDir(filepath.Dir(dst)); err != nil || len(left) != 0 {
		t.Fatalf("files left behind after a mismatch: %v (%v)", left, err)
	}
}

func TestDownloadMissingFileNamesURL(t *testing.T) {
	src := archive{}.serve(t)
	p := Package{Name: "x", Filename: "pool/x.deb", Size: 1, SHA256: "00"}
	err := src.Download(context.Background(), p, filepath.Join(t.TempDir(), "x.deb"), nil)
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), src.Mirror+"/pool/x.deb") {
		t.Fatalf("Download = %v, want not found naming the URL", err)
	}
}

func TestSourceWithoutMirror(t *testing.T) {
	_, err := Source{Suite: "bookworm"}.Resolve(context.Background(), "x")
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "debian_mirror") {
		t.Fatalf("Resolve without mirror = %v, want failed precondition naming debian_mirror", err)
	}
}
