package e2e

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"banger/internal/agent"
	"banger/internal/api"
)

// TestOCIPull pushes a two-layer image with a whiteout to a registry on
// loopback and pulls it with the CLI, as a user pulls from any registry.
func TestOCIPull(t *testing.T) {
	h := need(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/team/tool:1"
	pushImage(t, ref,
		map[string]string{"etc/keep": "kept", "etc/gone": "removed later", "usr/bin/tool": "#!/bin/sh\necho tool\n"},
		map[string]string{"etc/.wh.gone": ""})

	out := h.must(t, "image", "pull", ref)
	if !strings.Contains(out, "no sshd") {
		t.Errorf("pull of an image without sshd did not say how to reach it:\n%s", out)
	}
	var im api.ImageDetail
	decodeJSON(t, h.must(t, "image", "show", "tool-1", "--json"), &im)
	if !strings.HasPrefix(im.Source, "oci://") || im.Kernel == "" {
		t.Errorf("image = %+v, want an oci source and a default kernel", im)
	}
	if got := debugfs(t, im.RootfsPath, "cat /etc/keep"); !strings.Contains(got, "kept") {
		t.Errorf("/etc/keep lost: %q", got)
	}
	if got := debugfs(t, im.RootfsPath, "ls /etc"); strings.Contains(got, "gone") {
		t.Errorf("a whited-out file survived the flattening:\n%s", got)
	}
	if got := debugfs(t, im.RootfsPath, "stat /usr/local/lib/banger/banger-vsock-agent"); !strings.Contains(got, "Inode:") {
		t.Errorf("the agent was not injected:\n%s", got)
	}

	// An image with no init of its own boots: the agent stands in for init.
	var k api.KernelDetail
	decodeJSON(t, h.must(t, "kernel", "show", im.Kernel, "--json"), &k)
	took := bootUntil(t, k.Path, k.InitrdPath, im.RootfsPath, agent.InitBanner, 2*time.Minute)
	t.Logf("OCI image booted to its init in %s", took.Round(time.Millisecond))

	// A ref that does not exist fails clearly and registers nothing.
	out, err := h.run("image", "pull", strings.TrimPrefix(srv.URL, "http://")+"/team/missing:1")
	if err == nil || !strings.Contains(out, "missing") {
		t.Errorf("pull of a missing ref: err=%v\n%s", err, out)
	}
	h.must(t, "image", "rm", "tool-1")
}

// pushImage pushes an image made of one layer per map to ref.
func pushImage(t *testing.T, ref string, layers ...map[string]string) {
	t.Helper()
	img := v1.Image(empty.Image)
	for _, files := range layers {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for path, content := range files {
			mode := int64(0o644)
			if strings.Contains(path, "bin/") {
				mode = 0o755
			}
			if err := tw.WriteHeader(&tar.Header{Name: path, Mode: mode, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write([]byte(content)); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			t.Fatal(err)
		}
	}
	img, err := mutate.ConfigFile(img, &v1.ConfigFile{Architecture: "amd64", OS: "linux", Config: v1.Config{Cmd: []string{"/usr/bin/tool"}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
}
