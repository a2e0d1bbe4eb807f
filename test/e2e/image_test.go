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
	checkDockerUnits(t, img)

	// The image boots on its kernel to systemd's multi-user target.
	took := bootUntil(t, k.Path, k.InitrdPath, img, "Multi-User System", 4*time.Minute)
	t.Logf("golden image booted to multi-user in %s", took.Round(time.Millisecond))

	// A second pull is instant: nothing is rebuilt.
	start := time.Now()
	out := h.must(t, "image", "pull", "debian-bookworm")
	if d := time.Since(start); !strings.Contains(out, "already here") {
		t.Errorf("second pull did not reuse the image (took %s):\n%s", d, out)
	}

	checkDockerOnDemand(t)
}

// checkDockerUnits looks at the image's unit links: Docker's socket is
// enabled, its daemon and containerd are not, so boot does not start them.
func checkDockerUnits(t *testing.T, img string) {
	t.Helper()
	const etc = "/etc/systemd/system/"
	if out := debugfs(t, img, "stat "+etc+"sockets.target.wants/docker.socket"); !strings.Contains(out, `Fast link dest: "/lib/systemd/system/docker.socket"`) {
		t.Errorf("docker.socket is not enabled in the golden image:\n%s", out)
	}
	wants := debugfs(t, img, "ls "+etc+"multi-user.target.wants")
	if !strings.Contains(wants, "ssh.service") {
		t.Fatalf("multi-user.target.wants lists no ssh.service; is this the unit directory?\n%s", wants)
	}
	for _, u := range []string{"docker.service", "containerd.service"} {
		if strings.Contains(wants, u) {
			t.Errorf("%s starts at boot (multi-user.target.wants has it); it should start on first use:\n%s", u, wants)
		}
	}
}

// checkDockerOnDemand boots a golden-image VM cold and checks that Docker
// is not running until the first docker command, which then works without
// any setup.
func checkDockerOnDemand(t *testing.T) {
	t.Helper()
	_, n := goldenVMNet(t, "")
	start := time.Now()
	n.must(t, append([]string{"vm", "create", "--cold", "--name", "docker-first"}, e2eSize...)...)
	t.Logf("cold vm create: %s", time.Since(start).Round(time.Millisecond))
	guest := func(args ...string) result {
		return n.run(append([]string{"vm", "exec", "docker-first", "--"}, args...)...)
	}
	if r := guest("systemctl", "is-system-running", "--wait"); !strings.Contains(r.stdout, "running") {
		t.Logf("the guest's boot did not settle (%s); its units:\n%s", r, guest("systemctl", "--failed", "--no-pager").stdout)
	}
	t.Logf("boot: %s", guest("systemd-analyze", "time").stdout)
	t.Logf("services running before any docker command:\n%s",
		guest("systemctl", "list-units", "--type=service", "--state=running", "--no-pager", "--no-legend", "--plain").stdout)

	units := []string{"docker.socket", "docker.service", "containerd.service"}
	if got := guest(append([]string{"systemctl", "is-active"}, units...)...).stdout; strings.Join(strings.Fields(got), " ") != "active inactive inactive" {
		t.Errorf("after boot, is-active %v says %q; want the socket active and both daemons inactive", units, got)
	}
	start = time.Now()
	r := guest("docker", "info", "--format", "{{.ServerVersion}}")
	if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
		t.Fatalf("the first docker info in a fresh guest: %s", r)
	}
	t.Logf("first docker info (starts dockerd): %s, server %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(r.stdout))
	if got := guest(append([]string{"systemctl", "is-active"}, units...)...).stdout; strings.Join(strings.Fields(got), " ") != "active active active" {
		t.Errorf("after the first docker command, is-active %v says %q; want all active", units, got)
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
