package vm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"banger/internal/paths"
	"banger/internal/store"
)

func writeTemplate(t *testing.T, dir string, info TemplateInfo, withState bool) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(info)
	if err := os.WriteFile(filepath.Join(dir, templateMeta), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if withState {
		if err := os.WriteFile(filepath.Join(dir, templateState), []byte("state"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Templates are listed per image, only when complete, and go with their
// image; a half-made one is cleared too.
func TestTemplatesListAndRemove(t *testing.T) {
	s := onDirs(paths.Dirs{State: t.TempDir()})
	root := s.dirs.TemplatesDir()
	writeTemplate(t, filepath.Join(root, "a"), TemplateInfo{Format: templateFormat, Key: "a", Image: "deb", VCPU: 2, MemoryMiB: 1024}, true)
	writeTemplate(t, filepath.Join(root, "b"), TemplateInfo{Format: templateFormat, Key: "b", Image: "deb", VCPU: 1, MemoryMiB: 512}, true)
	writeTemplate(t, filepath.Join(root, "c"), TemplateInfo{Format: templateFormat, Key: "c", Image: "other", VCPU: 2, MemoryMiB: 1024}, true)
	writeTemplate(t, filepath.Join(root, "half"), TemplateInfo{Format: templateFormat, Key: "half", Image: "deb"}, false)
	writeTemplate(t, filepath.Join(root, "old"), TemplateInfo{Format: "banger-template/0", Key: "old", Image: "deb"}, true)

	if got := s.templates.list("deb"); len(got) != 2 {
		t.Fatalf("templates of deb = %+v, want the two complete ones", got)
	}
	if err := s.templates.remove("deb"); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(root)
	if len(left) != 1 || left[0].Name() != "c" {
		t.Fatalf("after removing deb's templates: %v, want only other's", left)
	}
}

// The key changes with anything that makes a saved guest unusable.
func TestTemplateKeyChanges(t *testing.T) {
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs.ext4")
	os.WriteFile(rootfs, []byte("image"), 0o644)
	im := store.Image{Name: "deb", RootfsPath: rootfs}
	k := store.Kernel{Name: "k", Path: filepath.Join(dir, "vmlinuz")}
	base := templateKey(im, k, 2, 1024, "qemu", "tcg")
	for name, key := range map[string]string{
		"vcpu":   templateKey(im, k, 4, 1024, "qemu", "tcg"),
		"memory": templateKey(im, k, 2, 2048, "qemu", "tcg"),
		"driver": templateKey(im, k, 2, 1024, "firecracker", "kvm"),
		"kernel": templateKey(im, store.Kernel{Name: "k2", Path: k.Path}, 2, 1024, "qemu", "tcg"),
	} {
		if key == base {
			t.Errorf("changing the %s kept the template key", name)
		}
	}
	os.WriteFile(rootfs, []byte("image, rebuilt"), 0o644)
	if templateKey(im, k, 2, 1024, "qemu", "tcg") == base {
		t.Error("a rebuilt image kept the template key")
	}
}
