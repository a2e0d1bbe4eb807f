package bundle

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"banger/internal/errdefs"
)

// countingServer serves data over plain http, counting requests.
func countingServer(t *testing.T, data []byte) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Write(data)
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

// assertEmptyDir checks that dir holds nothing, or does not exist.
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("%s holds %v after a refused import, want nothing", dir, entries)
	}
}

// trustTLS lets httpClient reach ts, the way it reaches a server with a
// real certificate.
func trustTLS(t *testing.T, ts *httptest.Server) {
	old := httpClient.Transport
	httpClient.Transport = ts.Client().Transport
	t.Cleanup(func() { httpClient.Transport = old })
}

func TestImportRefusesPlainHTTPWithoutSHA256(t *testing.T) {
	data, _ := incompressible(t, t.TempDir(), 64<<10)
	ts, requests := countingServer(t, data)
	images := filepath.Join(t.TempDir(), "images")
	_, err := Import(context.Background(), ts.URL+"/img.tar.zst", filepath.Join(images, "img"), ImportOptions{})
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("Import over http without --sha256 = %v, want invalid_argument", err)
	}
	for _, want := range []string{"plain http", "--sha256", "https", "file path"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("the server saw %d requests, want none", n)
	}
	assertEmptyDir(t, images)
}

func TestImportURLRefusesWrongSHA256(t *testing.T) {
	dir := t.TempDir()
	data, _ := incompressible(t, dir, 64<<10)
	other, _ := incompressible(t, filepath.Join(dir, "other"), 64<<10)
	ts, _ := countingServer(t, data)
	images := filepath.Join(dir, "images")
	_, err := Import(context.Background(), ts.URL+"/img.tar.zst", filepath.Join(images, "img"), ImportOptions{SHA256: sha256Hex(other)})
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "--sha256 says "+sha256Hex(other)) {
		t.Fatalf("Import with a wrong --sha256 = %v, want invalid_argument naming both sums", err)
	}
	assertEmptyDir(t, images)
}

func TestImportFileChecksSHA256(t *testing.T) {
	dir := t.TempDir()
	data, rootfs := incompressible(t, dir, 64<<10)
	src := filepath.Join(dir, "img.tar.zst")
	images := filepath.Join(dir, "images")
	dest := filepath.Join(images, "img")

	_, err := Import(context.Background(), src, dest, ImportOptions{SHA256: anySum})
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("Import of a file with a wrong --sha256 = %v, want it refused", err)
	}
	assertEmptyDir(t, images)

	got, err := Import(context.Background(), src, dest, ImportOptions{SHA256: "SHA256:" + strings.ToUpper(sha256Hex(data))})
	if err != nil {
		t.Fatalf("Import of a file with its --sha256: %v", err)
	}
	sameFile(t, got.Rootfs().SourcePath, rootfs)
}

func TestImportURLWithSHA256(t *testing.T) {
	dir := t.TempDir()
	data, rootfs := incompressible(t, dir, 64<<10)
	ts, _ := countingServer(t, data)
	dest := filepath.Join(dir, "images", "img")
	got, err := Import(context.Background(), ts.URL+"/img.tar.zst", dest, ImportOptions{SHA256: sha256Hex(data)})
	if err != nil {
		t.Fatalf("Import over http with the right --sha256: %v", err)
	}
	sameFile(t, got.Rootfs().SourcePath, rootfs)
	if _, err := os.Stat(dest + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("partial download left behind (err %v)", err)
	}
}

func TestImportHTTPSWithoutSHA256(t *testing.T) {
	dir := t.TempDir()
	data, rootfs := incompressible(t, dir, 64<<10)
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(data) }))
	defer ts.Close()
	trustTLS(t, ts)
	got, err := Import(context.Background(), ts.URL+"/img.tar.zst", filepath.Join(dir, "images", "img"), ImportOptions{})
	if err != nil {
		t.Fatalf("Import over https: %v", err)
	}
	sameFile(t, got.Rootfs().SourcePath, rootfs)
}

func TestImportRefusesRedirectToPlainHTTP(t *testing.T) {
	dir := t.TempDir()
	data, _ := incompressible(t, dir, 64<<10)
	plain, requests := countingServer(t, data)
	ts := httptest.NewTLSServer(http.RedirectHandler(plain.URL+"/img.tar.zst", http.StatusFound))
	defer ts.Close()
	trustTLS(t, ts)
	images := filepath.Join(dir, "images")
	_, err := Import(context.Background(), ts.URL+"/img.tar.zst", filepath.Join(images, "img"), ImportOptions{})
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "redirected to plain http") {
		t.Fatalf("Import redirected from https to http = %v, want invalid_argument", err)
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("the plain http server saw %d requests, want none", n)
	}
	if _, err := Import(context.Background(), ts.URL+"/img.tar.zst", filepath.Join(images, "img"), ImportOptions{SHA256: sha256Hex(data)}); err != nil {
		t.Fatalf("Import redirected to http with the right --sha256: %v", err)
	}
}

func TestParseSHA256(t *testing.T) {
	for _, bad := range []string{"abc", strings.Repeat("g", 64), strings.Repeat("a", 65), "md5:" + anySum} {
		if _, err := parseSHA256(bad); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("parseSHA256(%q) = %v, want invalid_argument", bad, err)
		}
	}
	if got, err := parseSHA256(" sha256:" + strings.ToUpper(anySum) + "\n"); err != nil || got != anySum {
		t.Errorf("parseSHA256 = %q, %v; want %q", got, err, anySum)
	}
}
