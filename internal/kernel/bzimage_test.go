package kernel

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func TestExtractVmlinuxLZ4Legacy(t *testing.T) {
	vmlinux := fakeVmlinux(t) // over 8 MiB, so several lz4 blocks
	img := fakeBzImage(withSizeTrailer(lz4Legacy(t, vmlinux), len(vmlinux)))
	got, err := ExtractVmlinux(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatalf("ExtractVmlinux: %v", err)
	}
	if !bytes.Equal(got, vmlinux) {
		t.Fatalf("ExtractVmlinux returned %d bytes, want the %d-byte vmlinux", len(got), len(vmlinux))
	}
}

func TestExtractVmlinuxGzip(t *testing.T) {
	vmlinux := fakeVmlinux(t)
	img := fakeBzImage(gzipBytes(t, vmlinux))
	got, err := ExtractVmlinux(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatalf("ExtractVmlinux: %v", err)
	}
	if !bytes.Equal(got, vmlinux) {
		t.Fatalf("ExtractVmlinux returned %d bytes, want the %d-byte vmlinux", len(got), len(vmlinux))
	}
}

func TestExtractVmlinuxRejectsNonELFPayload(t *testing.T) {
	img := fakeBzImage(gzipBytes(t, []byte("just text, no ELF here")))
	_, err := ExtractVmlinux(bytes.NewReader(img), int64(len(img)))
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "ELF") {
		t.Fatalf("ExtractVmlinux = %v, want an invalid argument about ELF", err)
	}
}

func TestExtractVmlinuxRandomBytes(t *testing.T) {
	b := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	path := filepath.Join(t.TempDir(), "random")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = ExtractVmlinux(f, int64(len(b)))
	want := path + " is not a Linux kernel (no bzImage header or ELF magic)"
	if !errors.Is(err, errdefs.ErrInvalidArgument) || err.Error() != want {
		t.Fatalf("ExtractVmlinux(random) = %v, want %q", err, want)
	}
}

func TestIdentify(t *testing.T) {
	dir := t.TempDir()
	vmlinux := fakeELF(t, map[string][]byte{".init.text": []byte("x")}, 0)
	files := map[string][]byte{
		"bzImage": fakeBzImage(gzipBytes(t, vmlinux)),
		"vmlinux": vmlinux,
		"program": fakeELF(t, map[string][]byte{".text": []byte("x")}, 0),
		"text":    []byte("hello"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]Format{"bzImage": BzImage, "vmlinux": ELFVmlinux} {
		if got, err := Identify(filepath.Join(dir, name)); err != nil || got != want {
			t.Fatalf("Identify(%s) = %v, %v; want %v", name, got, err, want)
		}
	}
	for _, name := range []string{"program", "text"} {
		if _, err := Identify(filepath.Join(dir, name)); !errors.Is(err, errdefs.ErrInvalidArgument) ||
			!strings.Contains(err.Error(), "not a Linux kernel") {
			t.Fatalf("Identify(%s) = %v, want invalid argument: not a Linux kernel", name, err)
		}
	}
}

func FuzzExtractVmlinux(f *testing.F) {
	f.Add([]byte("hello"))
	f.Add(fakeBzImage([]byte{0x02, 0x21, 0x4c, 0x18, 0xff, 0xff, 0xff, 0x7f}))
	f.Add(fakeBzImage([]byte{0x02, 0x21, 0x4c, 0x18, 4, 0, 0, 0, 0x40, 'a', 'b', 'c', 'd'}))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := ExtractVmlinux(bytes.NewReader(b), int64(len(b)))
		if err == nil && checkVmlinux(out) != nil {
			t.Fatalf("ExtractVmlinux returned a non-ELF result without error")
		}
	})
}
