package oci

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

// testRegistry is an in-process registry on loopback that counts blob
// downloads.
type testRegistry struct {
	host     string
	blobGets atomic.Int64
}

func startRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/") {
			r.blobGets.Add(1)
		}
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// push uploads an image made of the given layers and returns its ref.
func (r *testRegistry) push(t *testing.T, repo string, layers ...v1.Layer) string {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Entrypoint: []string{"/bin/tool"}, Cmd: []string{"--serve"},
		Env: []string{"PATH=/bin"}, WorkingDir: "/dir", User: "1000:1000"})
	if err != nil {
		t.Fatal(err)
	}
	ref := r.host + "/" + repo + ":v1"
	if err := remote.Write(mustRef(t, ref), img); err != nil {
		t.Fatal(err)
	}
	return ref
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func layer(t *testing.T, data []byte, c compression.Compression) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithCompression(c))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// testImage is the two-layer image the end-to-end tests pull.
func testImage(t *testing.T, r *testRegistry) string {
	lower := layerTar(t, dir("etc/"), file("etc/a", 0o644, "a"), file("etc/b", 0o644, "b"),
		dir("dir/"), file("dir/x", 0o644, "x"), file("dir/y", 0o644, "y"),
		dir("bin/"), file("bin/tool", 0o755, "#!/bin/sh\n"), symlink("bin/sh", "tool"))
	upper := layerTar(t, file("etc/.wh.a", 0, ""), file("dir/.wh..wh..opq", 0, ""), file("dir/z", 0o644, "z"))
	return r.push(t, "banger/test", layer(t, lower, compression.GZip), layer(t, upper, compression.ZStd))
}

// options fills in PullOptions for a pull into a fresh directory.
func options(t *testing.T, ref, cache string) PullOptions {
	t.Helper()
	dir := t.TempDir()
	agent := filepath.Join(dir, "agent")
	if err := os.WriteFile(agent, []byte("agent"), 0o755); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	return PullOptions{Ref: "oci://" + ref, CacheDir: cache, WorkDir: work,
		Out: filepath.Join(dir, "rootfs.ext4"), AgentBin: agent, Insecure: true}
}

// fakeMkfs records mkfs.ext4's arguments and runs true instead.
func fakeMkfs(args *[]string) func(context.Context, string, ...string) *exec.Cmd {
	return func(ctx context.Context, name string, a ...string) *exec.Cmd {
		*args = append([]string{name}, a...)
		return exec.CommandContext(ctx, "true")
	}
}

func TestPullSecondTimeDownloadsNoBlobs(t *testing.T) {
	r := startRegistry(t)
	ref := testImage(t, r)
	cache := t.TempDir()
	var args []string
	o := options(t, ref, cache)
	o.Runner = fakeMkfs(&args)
	first, err := Pull(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.blobGets.Load(); got != 3 {
		t.Fatalf("first pull fetched %d blobs, want 3 (config and two layers)", got)
	}
	want := []string{"-q", "-F", "-L", "rootfs", "-d"}
	if len(args) != 9 || !slices.Equal(args[1:6], want) || args[7] != o.Out+".tmp" || !strings.HasSuffix(args[8], "k") {
		t.Fatalf("mkfs.ext4 args = %q", args)
	}
	if first.SizeBytes <= headroom || first.SizeBytes%mib != 0 || args[8] != strconv.FormatInt(first.SizeBytes/1024, 10)+"k" {
		t.Fatalf("default size %d is not headroom plus content in whole MiB", first.SizeBytes)
	}

	r.blobGets.Store(0)
	o2 := options(t, ref, cache)
	o2.Runner = fakeMkfs(&args)
	second, err := Pull(context.Background(), o2)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.blobGets.Load(); got != 0 {
		t.Fatalf("second pull fetched %d blobs, want 0", got)
	}
	if second.Digest != first.Digest || !strings.HasPrefix(first.Digest, "sha256:") {
		t.Fatalf("digests %q and %q differ", first.Digest, second.Digest)
	}
	if entries, _ := os.ReadDir(o2.WorkDir); len(entries) != 0 {
		t.Fatalf("scratch tree left in %s", o2.WorkDir)
	}
}

func TestPullMissingImageIsNotFound(t *testing.T) {
	r := startRegistry(t)
	ref := r.host + "/banger/missing:v1"
	_, err := Pull(context.Background(), options(t, ref, t.TempDir()))
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), ref) {
		t.Fatalf("err = %v, want not-found naming %s", err, ref)
	}
}

func TestPullMissingPlatformIsNotFound(t *testing.T) {
	r := startRegistry(t)
	img, err := mutate.AppendLayers(empty.Image, layer(t, layerTar(t, file("a", 0o644, "a")), compression.GZip))
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img,
		Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	ref := r.host + "/banger/multi:v1"
	if err := remote.WriteIndex(mustRef(t, ref), idx); err != nil {
		t.Fatal(err)
	}
	_, err = Pull(context.Background(), options(t, ref, t.TempDir()))
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "linux/arm64") {
		t.Fatalf("err = %v, want not-found listing linux/arm64", err)
	}
}

func TestPullRefusesPathEscape(t *testing.T) {
	r := startRegistry(t)
	ref := r.host + "/banger/evil:v1"
	r.push(t, "banger/evil", layer(t, layerTar(t, file("../../evil", 0o644, "x")), compression.GZip))
	o := options(t, ref, t.TempDir())
	_, err := Pull(context.Background(), o)
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "escapes") {
		t.Fatalf("err = %v, want an invalid-argument path escape", err)
	}
	assertNoOutput(t, o)
	if _, err := os.Lstat(filepath.Join(filepath.Dir(o.WorkDir), "evil")); err == nil {
		t.Fatal("the escaping file was written")
	}
}

func TestPullCancelledLeavesNothing(t *testing.T) {
	r := startRegistry(t)
	ref := testImage(t, r)
	o := options(t, ref, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o.Progress = progress.Func(func(e progress.Event) {
		if e.Step == "unpacking" {
			cancel()
		}
	})
	_, err := Pull(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	assertNoOutput(t, o)
	if blobs, _ := os.ReadDir(filepath.Join(o.CacheDir, "sha256")); len(blobs) != 3 {
		t.Fatalf("cache holds %d blobs after cancel, want the 3 completed ones", len(blobs))
	}
}

func TestPullRefusesExistingOut(t *testing.T) {
	o := options(t, "127.0.0.1:1/x:v1", t.TempDir())
	if err := os.WriteFile(o.Out, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Pull(context.Background(), o); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Fatalf("err = %v, want already-exists", err)
	}
}

func assertNoOutput(t *testing.T, o PullOptions) {
	t.Helper()
	for _, p := range []string{o.Out, o.Out + ".tmp"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
	if entries, _ := os.ReadDir(o.WorkDir); len(entries) != 0 {
		t.Errorf("scratch tree left in %s", o.WorkDir)
	}
}

func TestPullReplacesCorruptCachedBlob(t *testing.T) {
	r := startRegistry(t)
	ref := testImage(t, r)
	cache := t.TempDir()
	var args []string
	o := options(t, ref, cache)
	o.Runner = fakeMkfs(&args)
	if _, err := Pull(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	blobs, _ := filepath.Glob(filepath.Join(cache, "sha256", "*"))
	for _, b := range blobs {
		data, _ := os.ReadFile(b)
		if err := os.WriteFile(b, bytes.Repeat([]byte{0}, len(data)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.blobGets.Store(0)
	o = options(t, ref, cache)
	o.Runner = fakeMkfs(&args)
	if _, err := Pull(context.Background(), o); err != nil {
		t.Fatalf("pull over a corrupt cache: %v", err)
	}
	if got := r.blobGets.Load(); got != 3 {
		t.Fatalf("fetched %d blobs, want the 3 corrupt ones again", got)
	}
}

func TestPullStopsACompressionBomb(t *testing.T) {
	r := startRegistry(t)
	zeros := layerTar(t, file("zeros", 0o644, string(make([]byte, 16<<20))))
	ref := r.push(t, "banger/bomb", layer(t, zeros, compression.GZip))
	o := options(t, ref, t.TempDir())
	o.MaxUnpacked = 4 << 20
	_, err := Pull(context.Background(), o)
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "unpacks past 4M") ||
		!regexp.MustCompile(`unpacking layer sha256:[0-9a-f]{64} of `).MatchString(err.Error()) {
		t.Fatalf("err = %v, want an invalid-argument error naming the layer and the limit", err)
	}
	assertNoOutput(t, o)
}
