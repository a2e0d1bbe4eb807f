package image

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func TestCheckExt4RealImage(t *testing.T) {
	mkfs := findTool("mkfs.ext4")
	if mkfs == "" {
		t.Skip("mkfs.ext4 is not installed")
	}
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(tree, "etc", "hostname"), []byte("x\n"), 0o644)
	img := filepath.Join(dir, "tiny.ext4")
	if out, err := exec.Command(mkfs, mkfsArgs(tree, img, "8M")...).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	if err := CheckExt4(img); err != nil {
		t.Fatalf("CheckExt4 on a real image: %v", err)
	}
}

func TestCheckExt4Superblock(t *testing.T) {
	img := make([]byte, 4096)
	binary.LittleEndian.PutUint16(img[1080:], 0xEF53)
	p := filepath.Join(t.TempDir(), "fs.img")
	os.WriteFile(p, img, 0o644)
	if err := CheckExt4(p); err != nil {
		t.Fatal(err)
	}
}

func TestCheckExt4Rejects(t *testing.T) {
	dir := t.TempDir()
	random := make([]byte, 64<<10)
	rand.Read(random)
	random[1080], random[1081] = 0, 0
	files := map[string][]byte{"random.img": random, "short.img": []byte("tiny"), "empty.img": nil}
	for name, data := range files {
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	for name, want := range map[string]error{
		"random.img": errdefs.ErrInvalidArgument, "short.img": errdefs.ErrInvalidArgument,
		"empty.img": errdefs.ErrInvalidArgument, "missing.img": errdefs.ErrNotFound, ".": errdefs.ErrInvalidArgument,
	} {
		p := filepath.Join(dir, name)
		err := CheckExt4(p)
		if !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", name, err, want)
			continue
		}
		if !strings.Contains(err.Error(), filepath.Clean(p)) {
			t.Errorf("%s: error %q does not name the path", name, err)
		}
	}
	if err := CheckExt4(filepath.Join(dir, "random.img")); err.Error() != filepath.Join(dir, "random.img")+" is not an ext4 filesystem image" {
		t.Errorf("message = %q", err)
	}
	if err := CheckExt4(dir); !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
}
