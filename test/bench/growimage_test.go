package main

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestGrowImage(t *testing.T) {
	for _, tool := range []string{"mkfs.ext4", "debugfs", "dumpe2fs", "e2fsck", "resize2fs"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " is not installed (e2fsprogs)")
		}
	}
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.ext4"), filepath.Join(dir, "dst.ext4")
	tree := filepath.Join(dir, "tree")
	if err := os.MkdirAll(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "hello"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 4<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(tree, "data"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-d", tree, src, "32M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	if err := growImage(context.Background(), src, dst, 4); err != nil {
		t.Fatal(err)
	}
	srcInfo, _ := os.Stat(src)
	dstInfo, _ := os.Stat(dst)
	if dstInfo.Size() != 4*srcInfo.Size() {
		t.Errorf("apparent size %d, want 4 x %d", dstInfo.Size(), srcInfo.Size())
	}
	// The filler is rounded down to whole blocks; debugfs adds an extent
	// block or two.
	if a, b := allocatedBytes(src), allocatedBytes(dst); b < 4*a-(64<<10) || b > 4*a+(64<<10) {
		t.Errorf("allocated %d bytes, want about 4 x %d", b, a)
	}
	if out, err := exec.Command("e2fsck", "-f", "-n", dst).CombinedOutput(); err != nil {
		t.Errorf("e2fsck -fn on the grown image: %v: %s", err, out)
	}
	if out, err := exec.Command("debugfs", "-R", "cat /hello", dst).Output(); err != nil || string(out) != "hello\n" {
		t.Errorf("/hello in the grown image: %q, %v", out, err)
	}
}
