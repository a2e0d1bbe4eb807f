package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"banger/internal/e2etest"
	"banger/internal/progress"
)

// e2eBuild builds a catalog entry for real. It needs BANGER_E2E=1, root,
// debootstrap, debugfs and the Debian mirror (BANGER_TEST_MIRROR, else
// debootstrap's default). BANGER_TEST_CACHE keeps downloaded packages
// between runs.
func e2eBuild(t *testing.T, name string, npmRegistry string) (Result, string) {
	t.Helper()
	e2etest.Require(t, "image build test", e2etest.Needs{Root: true, Tools: []e2etest.Tool{e2etest.Debootstrap, e2etest.Debugfs, e2etest.Mkfs}})
	entry, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	agent := filepath.Join(dir, "banger-vsock-agent")
	if err := os.WriteFile(agent, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	mods := filepath.Join(dir, "lib", "modules", "6.1.0-test-cloud-amd64")
	if err := os.MkdirAll(filepath.Join(mods, "kernel"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mods, "modules.dep"), []byte("kernel/test.ko:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mods, "kernel", "test.ko"), []byte("not really a module"), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "debs")
	if c := os.Getenv("BANGER_TEST_CACHE"); c != "" {
		cache = filepath.Join(c, "image-e2e-debs")
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "rootfs.ext4")
	var steps []string
	start := time.Now()
	res, err := Build(t.Context(), BuildOptions{
		Entry: entry, Mirror: os.Getenv("BANGER_TEST_MIRROR"), DebCache: cache, WorkDir: work, Out: out,
		AgentBin: agent, ModulesDir: mods, NPMRegistry: npmRegistry,
		Progress: func(e progress.Event) {
			if e.Message == "" && e.Done == 0 {
				steps = append(steps, e.Step)
				t.Logf("%6.1fs step %s", time.Since(start).Seconds(), e.Step)
			} else if m := counted.FindStringSubmatch(e.Message); e.Message != "" && (m == nil || strings.HasSuffix(m[1], "00")) {
				t.Logf("%6.1fs   %s", time.Since(start).Seconds(), e.Message)
			}
		},
	})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Logf("built %s in %s: %d bytes apparent, %d allocated (%.0f MiB), hash %s",
		name, time.Since(start).Round(time.Second), res.SizeBytes, res.AllocatedBytes, float64(res.AllocatedBytes)/(1<<20), res.Hash)
	if left, _ := os.ReadDir(work); len(left) != 0 {
		t.Errorf("the build left %d entries in its work dir", len(left))
	}
	if _, err := os.Stat(out + ".tmp"); err == nil {
		t.Error("the build left its .tmp file")
	}
	if err := CheckExt4(res.Path); err != nil {
		t.Fatal(err)
	}
	return res, out
}

// counted matches per-package notes ("Unpacking 12: libc6"), of which the
// log shows every hundredth.
var counted = regexp.MustCompile(`^[A-Z][a-z]+ ([0-9]+): `)

func debugfs(t *testing.T, img, request string) string {
	t.Helper()
	cmd := exec.Command(findTool("debugfs"), "-R", request, img)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("debugfs -R %q: %v\n%s%s", request, err, out, stderr.String())
	}
	// stderr has a version banner, then errors such as "File not found".
	_, errs, _ := strings.Cut(stderr.String(), "\n")
	return string(out) + errs
}

// checkImage looks inside a built image for what every image must have.
func checkImage(t *testing.T, img string, entry Entry) {
	t.Helper()
	for _, f := range []string{"/usr/sbin/sshd", "/usr/bin/git", "/usr/bin/jq", "/usr/bin/curl", agentPath,
		"/lib/modules/6.1.0-test-cloud-amd64/kernel/test.ko", "/lib/modules/6.1.0-test-cloud-amd64/modules.dep"} {
		if out := debugfs(t, img, "stat "+f); !strings.Contains(out, "Inode:") {
			t.Errorf("%s missing from the image:\n%s", f, out)
		}
	}
	if conf := debugfs(t, img, "cat /etc/ssh/sshd_config.d/banger.conf"); conf != sshdDropIn() {
		t.Errorf("sshd drop-in is\n%s\nwant\n%s", conf, sshdDropIn())
	}
	if out := debugfs(t, img, "ls /etc/ssh"); strings.Contains(out, "ssh_host_") {
		t.Errorf("the image ships ssh host keys:\n%s", out)
	}
	unit := debugfs(t, img, "stat /etc/systemd/system/"+agentUnit)
	if !strings.Contains(unit, "User:     0   Group:     0") {
		t.Errorf("agent unit is not owned by root:\n%s", unit)
	}
	wantLinks := map[string]string{
		"/etc/systemd/system/multi-user.target.wants/" + agentUnit:                   "/etc/systemd/system/" + agentUnit,
		"/etc/systemd/system/multi-user.target.wants/" + sshKeygenUnit:               "/etc/systemd/system/" + sshKeygenUnit,
		"/etc/systemd/system/sysinit.target.wants/systemd-network-generator.service": "/lib/systemd/system/systemd-network-generator.service",
		"/etc/systemd/network/99-default.link":                                       "/dev/null",
	}
	for _, u := range entry.Recipe.Mask {
		wantLinks["/etc/systemd/system/"+u] = "/dev/null"
	}
	for link, target := range wantLinks {
		if out := debugfs(t, img, "stat "+link); !strings.Contains(out, `Fast link dest: "`+target+`"`) {
			t.Errorf("%s is not a symlink to %s:\n%s", link, target, out)
		}
	}
	// Disabled units have no wants link left, whoever's package script made it.
	wants := debugfs(t, img, "ls /etc/systemd/system/multi-user.target.wants")
	for _, u := range entry.Recipe.Disable {
		if strings.Contains(wants, u) {
			t.Errorf("%s is disabled in the recipe but multi-user.target.wants has it:\n%s", u, wants)
		}
	}
	if out := debugfs(t, img, "stat /etc/machine-id"); !strings.Contains(out, "Size: 0") {
		t.Errorf("machine-id is not empty:\n%s", out)
	}
	if out := debugfs(t, img, "ls /usr/share/doc"); strings.Contains(out, "README") {
		t.Errorf("docs were not trimmed:\n%s", out)
	}
}

func TestBuildSlimE2E(t *testing.T) {
	res, img := e2eBuild(t, "debian-bookworm-slim", "")
	entry, _ := Lookup("debian-bookworm-slim")
	checkImage(t, img, entry)
	if out := debugfs(t, img, "stat /usr/bin/dockerd"); strings.Contains(out, "Inode:") {
		t.Error("the slim image has Docker")
	}
	if res.AllocatedBytes > 1<<30 {
		t.Errorf("slim image takes %d bytes; expected well under 1 GiB", res.AllocatedBytes)
	}
}

// TestBuildGoldenE2E builds the full golden image; it is slow, so it also
// needs BANGER_E2E_GOLDEN=1. mise comes from BANGER_TEST_NPM_REGISTRY, else
// npm's configured registry, else it is left out.
func TestBuildGoldenE2E(t *testing.T) {
	if os.Getenv("BANGER_E2E_GOLDEN") != "1" {
		t.Skip("set BANGER_E2E_GOLDEN=1 (with BANGER_E2E=1) to build the full golden image")
	}
	registry := os.Getenv("BANGER_TEST_NPM_REGISTRY")
	if registry == "" {
		if out, err := exec.Command("npm", "config", "get", "registry").Output(); err == nil {
			registry = strings.TrimRight(strings.TrimSpace(string(out)), "/")
		}
	}
	res, img := e2eBuild(t, "debian-bookworm", registry)
	entry, _ := Lookup("debian-bookworm")
	checkImage(t, img, entry)
	want := []string{"/usr/sbin/dockerd", "/usr/bin/gcc", "/usr/bin/make", "/usr/bin/unzip", "/usr/bin/less"}
	if registry != "" {
		want = append(want, misePath)
	}
	for _, f := range want {
		if out := debugfs(t, img, "stat "+f); !strings.Contains(out, "Inode:") {
			t.Errorf("%s missing from the golden image:\n%s", f, out)
		}
	}
	// Docker starts on first use, through its socket.
	if out := debugfs(t, img, "stat /etc/systemd/system/sockets.target.wants/docker.socket"); !strings.Contains(out, `Fast link dest: "/lib/systemd/system/docker.socket"`) {
		t.Errorf("docker.socket is not enabled:\n%s", out)
	}
	if res.AllocatedBytes > 1536<<20 {
		t.Errorf("golden image takes %d bytes; the target is under 1.5 GiB", res.AllocatedBytes)
	}
}
