package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banger/internal/api"
)

// TestGoldenImage pulls the default kernel and builds the golden image as a
// user would on a fresh machine, then looks inside the image.
func TestGoldenImage(t *testing.T) {
	h := need(t)
	h.must(t, "kernel", "pull", "debian-6.1-cloud")
	var k api.KernelDetail
	decodeJSON(t, h.must(t, "kernel", "show", "debian-6.1-cloud", "--json"), &k)
	for _, p := range []string{k.Path, k.VmlinuxPath, k.InitrdPath} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Fatalf("kernel file %q missing or empty: %v", p, err)
		}
	}

	h.must(t, "image", "pull", "debian-bookworm")
	var im api.ImageDetail
	decodeJSON(t, h.must(t, "image", "show", "debian-bookworm", "--json"), &im)
	if im.Kernel != "debian-6.1-cloud" {
		t.Errorf("image kernel = %q, want debian-6.1-cloud", im.Kernel)
	}
	t.Logf("golden rootfs: %d bytes apparent, %d allocated", im.SizeBytes, im.AllocatedBytes)

	img := im.RootfsPath
	for _, f := range []string{"/usr/sbin/sshd", "/usr/bin/git", "/usr/bin/jq", "/usr/bin/curl", "/usr/bin/make",
		"/usr/bin/gcc", "/usr/bin/unzip", "/usr/bin/less", "/usr/sbin/dockerd", "/usr/local/lib/banger/banger-vsock-agent",
		"/lib/modules/" + k.Version + "/modules.dep"} {
		if out := debugfs(t, img, "stat "+f); !strings.Contains(out, "Inode:") {
			t.Errorf("%s missing from the golden image:\n%s", f, out)
		}
	}
	if out := debugfs(t, img, "ls /etc/ssh"); strings.Contains(out, "ssh_host_") {
		t.Errorf("the image ships ssh host keys; each VM must make its own:\n%s", out)
	}
	conf := debugfs(t, img, "cat /etc/ssh/sshd_config.d/banger.conf")
	for _, want := range []string{"PasswordAuthentication no", "PermitRootLogin yes"} {
		if !strings.Contains(conf, want) {
			t.Errorf("sshd drop-in lacks %q:\n%s", want, conf)
		}
	}

	// The image boots on its kernel to systemd's multi-user target.
	took := bootUntil(t, k.Path, k.InitrdPath, img, "Multi-User System", 4*time.Minute)
	t.Logf("golden image booted to multi-user in %s", took.Round(time.Millisecond))

	// A second pull is instant: nothing is rebuilt.
	start := time.Now()
	out := h.must(t, "image", "pull", "debian-bookworm")
	if d := time.Since(start); !strings.Contains(out, "already here") {
		t.Errorf("second pull did not reuse the image (took %s):\n%s", d, out)
	}
}

// TestBadPulls checks that mistakes fail clearly and leave nothing behind.
func TestBadPulls(t *testing.T) {
	h := need(t)
	out, err := h.run("image", "pull", "debian-bookwrm")
	if err == nil || !strings.Contains(out, `did you mean "debian-bookworm"`) {
		t.Errorf("pull of a misspelt name: err=%v, output:\n%s", err, out)
	}
	junk := filepath.Join(t.TempDir(), "junk.img")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not ext4", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = h.run("image", "register", "junk", "--rootfs", junk)
	if err == nil || !strings.Contains(out, "not an ext4") {
		t.Errorf("register of a non-ext4 file: err=%v, output:\n%s", err, out)
	}
	out, err = h.run("kernel", "register", junk, "--name", "junk")
	if err == nil || !strings.Contains(out, "not a Linux kernel") {
		t.Errorf("register of a non-kernel: err=%v, output:\n%s", err, out)
	}
	list := h.must(t, "image", "list", "--json")
	if strings.Contains(list, `"junk"`) {
		t.Errorf("a failed register left an image behind:\n%s", list)
	}
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	// Skip any notes printed before the JSON document.
	if i := strings.IndexAny(s, "{["); i > 0 {
		s = s[i:]
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
}
