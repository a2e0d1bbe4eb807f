// Package kerneltest fetches Debian's cloud kernel for end-to-end tests
// that boot it (the initramfs and VMM tests), with the host's apt, cached
// under $BANGER_TEST_CACHE when set.
package kerneltest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// CloudKernel is Debian's cloud kernel unpacked from its package.
type CloudKernel struct {
	Vmlinuz    string // the bzImage
	ModulesDir string // lib/modules/<kver>
}

// DebianCloud fetches the kernel that linux-image-cloud-amd64 points
// at with the host's apt, unpacked under $BANGER_TEST_CACHE when set so
// later runs reuse it, else under a temporary directory.
func DebianCloud(t testing.TB) CloudKernel {
	t.Helper()
	pkg := cloudKernelPackage(t)
	cache := os.Getenv("BANGER_TEST_CACHE")
	if cache == "" {
		cache = t.TempDir()
	}
	dir := filepath.Join(cache, "kernels", pkg)
	if _, err := os.Stat(dir); err != nil {
		unpackKernel(t, pkg, dir)
	}
	k, err := findKernel(dir)
	if err != nil {
		t.Fatalf("kernel package %s unpacked in %s: %v (delete the directory to fetch it again)", pkg, dir, err)
	}
	return k
}

// cloudKernelPackage asks apt which versioned package the cloud kernel
// metapackage depends on, such as linux-image-6.1.0-56-cloud-amd64.
func cloudKernelPackage(t testing.TB) string {
	out, err := exec.Command("apt-cache", "depends", "linux-image-cloud-amd64").CombinedOutput()
	if err != nil {
		t.Fatalf("apt-cache depends linux-image-cloud-amd64: %v\n%s(run apt-get update first)", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		dep, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends: ")
		if ok && strings.HasPrefix(dep, "linux-image-") {
			return dep
		}
	}
	t.Fatalf("apt-cache depends linux-image-cloud-amd64 names no linux-image package:\n%s(run apt-get update first)", out)
	return ""
}

// unpackKernel downloads pkg and unpacks it into dir, atomically so that a
// run stopped half-way leaves no partial kernel in the cache.
func unpackKernel(t testing.TB, pkg, dir string) {
	tmp := t.TempDir()
	Run(t, tmp, "apt-get", "download", pkg)
	debs, _ := filepath.Glob(filepath.Join(tmp, pkg+"_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("apt-get download %s left %d .deb files in %s, want 1", pkg, len(debs), tmp)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	staging, err := os.MkdirTemp(filepath.Dir(dir), pkg+".tmp-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(staging)
	Run(t, tmp, "dpkg-deb", "-x", debs[0], staging)
	if err := os.Rename(staging, dir); err != nil {
		if _, statErr := os.Stat(dir); statErr != nil {
			t.Fatalf("caching the kernel: %v", err)
		}
	}
}

func findKernel(dir string) (CloudKernel, error) {
	vmlinuz, _ := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*"))
	// Older packages ship lib/modules, merged-/usr ones usr/lib/modules.
	mods, _ := filepath.Glob(filepath.Join(dir, "lib", "modules", "*"))
	usrMods, _ := filepath.Glob(filepath.Join(dir, "usr", "lib", "modules", "*"))
	mods = append(mods, usrMods...)
	if len(vmlinuz) != 1 || len(mods) != 1 {
		return CloudKernel{}, fmt.Errorf("want one boot/vmlinuz-* and one [usr/]lib/modules/*, found %q and %q", vmlinuz, mods)
	}
	return CloudKernel{Vmlinuz: vmlinuz[0], ModulesDir: mods[0]}, nil
}

// Run runs a command in dir and fails the test with its output on error.
func Run(t testing.TB, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// GoBuild builds a static binary of pkg (relative to the test's package)
// at out.
func GoBuild(t testing.TB, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

// Rootfs makes an ext4 image of the given size in dir whose /sbin/init is
// a static build of initPkg, without mounting anything.
func Rootfs(t testing.TB, dir, initPkg, size string) string {
	t.Helper()
	tree := filepath.Join(dir, "rootfs")
	for _, d := range []string{"sbin", "dev", "proc", "sys"} {
		if err := os.MkdirAll(filepath.Join(tree, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	GoBuild(t, filepath.Join(tree, "sbin", "init"), initPkg)
	img := filepath.Join(dir, "root.ext4")
	Run(t, dir, "mkfs.ext4", "-q", "-d", tree, img, size)
	return img
}
