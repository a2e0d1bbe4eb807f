package kernel

import (
	"os"
	"path/filepath"
	"testing"
)

// TestExtractVmlinuxHostKernel runs on whatever kernel this machine has
// in /boot.
func TestExtractVmlinuxHostKernel(t *testing.T) {
	images, _ := filepath.Glob("/boot/vmlinuz-*")
	if len(images) == 0 {
		t.Skip("no /boot/vmlinuz-* on this machine to extract")
	}
	for _, path := range images {
		checkRealBzImage(t, path)
	}
}

// TestRealDeb unpacks a real Debian kernel package, such as one fetched
// with `apt-get download linux-image-6.1.0-NN-cloud-amd64`, the way Pull
// does.
func TestRealDeb(t *testing.T) {
	deb := os.Getenv("BANGER_TEST_KERNEL_DEB")
	if deb == "" {
		t.Skip("set BANGER_TEST_KERNEL_DEB to a linux-image-*.deb to run")
	}
	dest := t.TempDir()
	if err := ExtractDeb(deb, dest, keepKernelFile); err != nil {
		t.Fatalf("ExtractDeb: %v", err)
	}
	images, _ := filepath.Glob(filepath.Join(dest, "boot", "vmlinuz-*"))
	if len(images) != 1 {
		t.Fatalf("found %d boot/vmlinuz-* in %s, want 1", len(images), deb)
	}
	checkRealBzImage(t, images[0])
	kver := filepath.Base(images[0])[len("vmlinuz-"):]
	modules := filepath.Join(dest, "lib", "modules", kver)
	if err := ensureModulesDep(modules); err != nil {
		t.Fatalf("ensureModulesDep: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(modules, "modules.dep")); err != nil || fi.Size() == 0 {
		t.Fatalf("modules.dep missing or empty: %v", err)
	}
}

func checkRealBzImage(t *testing.T, path string) {
	t.Helper()
	if f, err := Identify(path); err != nil || f != BzImage {
		t.Fatalf("Identify(%s) = %v, %v; want bzImage", path, f, err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("cannot read %s: %v", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	vmlinux, err := ExtractVmlinux(f, fi.Size())
	if err != nil {
		t.Fatalf("ExtractVmlinux(%s): %v", path, err)
	}
	out := filepath.Join(t.TempDir(), "vmlinux")
	if err := os.WriteFile(out, vmlinux, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := Identify(out); err != nil || got != ELFVmlinux {
		t.Fatalf("Identify(extracted vmlinux of %s) = %v, %v; want vmlinux", path, got, err)
	}
	t.Logf("%s: %d-byte bzImage holds a %d-byte vmlinux", path, fi.Size(), len(vmlinux))
}
