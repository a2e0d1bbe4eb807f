package bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

// bundleServer serves one bundle with an ETag, honouring Range and
// If-Range, and records the Range header of every request.
type bundleServer struct {
	mu     sync.Mutex
	data   []byte
	etag   string
	ranges []string
}

func (s *bundleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data, etag := s.data, s.etag
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	s.mu.Unlock()
	w.Header().Set("ETag", etag)
	http.ServeContent(w, r, "img.tar.zst", time.Unix(1700000000, 0), bytes.NewReader(data))
}

func (s *bundleServer) set(data []byte, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data, s.etag = data, etag
}

func (s *bundleServer) rangesSeen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// anySum is a well-formed sha256 for tests that never get to check it.
var anySum = strings.Repeat("ab", sha256.Size)

// incompressible exports an image whose rootfs is size random bytes and
// returns the bundle's bytes and the rootfs path.
func incompressible(t *testing.T, dir string, size int) ([]byte, string) {
	t.Helper()
	rootfs := writeFile(t, filepath.Join(dir, "src", "rootfs.ext4"), randomBytes(t, size))
	m := Manifest{Name: "img", Version: "1", Files: []File{{Path: "rootfs.ext4", Role: RoleRootfs, SourcePath: rootfs}}}
	path := filepath.Join(dir, "img.tar.zst")
	export(t, path, m)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data, rootfs
}

// cancelAfter returns a context and a progress.Func that cancels it once
// a download has passed n bytes.
func cancelAfter(n int64) (context.Context, context.CancelFunc, progress.Func) {
	ctx, cancel := context.WithCancel(context.Background())
	return ctx, cancel, func(e progress.Event) {
		if strings.HasPrefix(e.Step, "downloading ") && e.Done >= n {
			cancel()
		}
	}
}

func TestImportURLResumes(t *testing.T) {
	dir := t.TempDir()
	data, rootfs := incompressible(t, dir, 4<<20)
	srv := &bundleServer{data: data, etag: `"v1"`}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	url := ts.URL + "/bundles/img.tar.zst"
	dest := filepath.Join(dir, "images", "img")
	partial := dest + ".partial"

	ctx, cancel, prog := cancelAfter(1 << 20)
	defer cancel()
	if _, err := Import(ctx, url, dest, ImportOptions{SHA256: sha256Hex(data), Progress: prog}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Import = %v, want context.Canceled", err)
	}
	assertNothingLeft(t, dest)
	fi, err := os.Stat(partial)
	if err != nil {
		t.Fatalf("no partial download kept: %v", err)
	}
	have := fi.Size()
	if have < 1<<20 || have >= int64(len(data)) {
		t.Fatalf("partial download is %d bytes, want between 1 MiB and %d", have, len(data))
	}

	var last progress.Event
	prog = func(e progress.Event) {
		if strings.HasPrefix(e.Step, "downloading ") && e.Total > 0 {
			last = e
		}
	}
	got, err := Import(context.Background(), url, dest, ImportOptions{SHA256: sha256Hex(data), Progress: prog})
	if err != nil {
		t.Fatalf("resumed Import: %v", err)
	}
	sameFile(t, got.Rootfs().SourcePath, rootfs)
	ranges := srv.rangesSeen()
	if want := "bytes=" + strconv.FormatInt(have, 10) + "-"; len(ranges) != 2 || ranges[0] != "" || ranges[1] != want {
		t.Fatalf("server saw Range headers %q, want none then %q", ranges, want)
	}
	if last.Done != int64(len(data)) || last.Total != int64(len(data)) {
		t.Fatalf("last download progress = %+v, want %d of %d", last, len(data), len(data))
	}
	if _, err := os.Stat(partial); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("partial download still there after a successful import (err %v)", err)
	}
}

func TestImportURLRestartsWhenBundleChanged(t *testing.T) {
	dir := t.TempDir()
	old, _ := incompressible(t, filepath.Join(dir, "old"), 2<<20)
	data, rootfs := incompressible(t, filepath.Join(dir, "new"), 2<<20)
	srv := &bundleServer{data: old, etag: `"v1"`}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dest := filepath.Join(dir, "images", "img")

	ctx, cancel, prog := cancelAfter(512 << 10)
	defer cancel()
	if _, err := Import(ctx, ts.URL+"/img.tar.zst", dest, ImportOptions{SHA256: sha256Hex(data), Progress: prog}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Import = %v, want context.Canceled", err)
	}
	srv.set(data, `"v2"`)
	got, err := Import(context.Background(), ts.URL+"/img.tar.zst", dest, ImportOptions{SHA256: sha256Hex(data)})
	if err != nil {
		t.Fatalf("Import after the bundle changed: %v", err)
	}
	sameFile(t, got.Rootfs().SourcePath, rootfs)
	if ranges := srv.rangesSeen(); len(ranges) != 2 || ranges[1] == "" {
		t.Fatalf("server saw Range headers %q, want a resume attempt", ranges)
	}
}

func TestImportURLCompletePartial(t *testing.T) {
	dir := t.TempDir()
	data, rootfs := incompressible(t, dir, 64<<10)
	srv := &bundleServer{data: data, etag: `"v1"`}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dest := filepath.Join(dir, "images", "img")
	// A download that finished before its import was interrupted.
	writeFile(t, dest+".partial", data)
	if err := writeMeta(dest+".partial", partialMeta{URL: ts.URL + "/b", ETag: `"v1"`}); err != nil {
		t.Fatal(err)
	}
	got, err := Import(context.Background(), ts.URL+"/b", dest, ImportOptions{SHA256: sha256Hex(data)})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	sameFile(t, got.Rootfs().SourcePath, rootfs)
}

func TestImportURLCorruptedDropsPartial(t *testing.T) {
	dir := t.TempDir()
	srv := &bundleServer{data: []byte(strings.Repeat("not a bundle ", 100)), etag: `"v1"`}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dest := filepath.Join(dir, "images", "img")
	_, err := Import(context.Background(), ts.URL+"/b", dest, ImportOptions{SHA256: sha256Hex(srv.data)})
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("Import = %v, want invalid_argument", err)
	}
	assertNothingLeft(t, dest)
	if _, err := os.Stat(dest + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a useless partial download was kept (err %v)", err)
	}
}

func TestImportURLNotFound(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	defer ts.Close()
	dest := filepath.Join(t.TempDir(), "images", "img")
	url := ts.URL + "/missing.tar.zst"
	_, err := Import(context.Background(), url, dest, ImportOptions{SHA256: anySum})
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("Import = %v, want not_found", err)
	}
	if want := "downloading " + url + ": the server answered 404 Not Found"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not contain %q", err, want)
	}
	assertNothingLeft(t, dest)
}

func TestImportURLServerError(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusBadGateway)
	}))
	defer ts.Close()
	_, err := Import(context.Background(), ts.URL+"/b?token=secret", filepath.Join(t.TempDir(), "img"), ImportOptions{SHA256: anySum})
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "502 Bad Gateway") {
		t.Fatalf("Import = %v, want unavailable naming 502", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error %q shows the URL's query", err)
	}
}

func TestImportRefusesOtherSchemes(t *testing.T) {
	_, err := Import(context.Background(), "ftp://host.invalid/b", filepath.Join(t.TempDir(), "img"), ImportOptions{})
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("Import(ftp URL) = %v, want invalid_argument", err)
	}
}

func TestParseContentRange(t *testing.T) {
	cases := []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes */300", -1, 300, true},
		{"bytes 5-9/*", 5, -1, true},
		{"items 1-2/3", 0, 0, false},
		{"bytes 1-2", 0, 0, false},
		{"bytes x-2/3", 0, 0, false},
	}
	for _, tc := range cases {
		start, total, ok := parseContentRange(tc.in)
		if start != tc.start || total != tc.total || ok != tc.ok {
			t.Errorf("parseContentRange(%q) = %d, %d, %v; want %d, %d, %v", tc.in, start, total, ok, tc.start, tc.total, tc.ok)
		}
	}
}
