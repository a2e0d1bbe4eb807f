package guestinit

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func TestDecompressModule(t *testing.T) {
	img := bytes.Repeat([]byte("\x7fELF module image "), 100)
	for name, compress := range map[string]func(io.Writer) (io.WriteCloser, error){
		"m.ko.xz":  func(w io.Writer) (io.WriteCloser, error) { return xz.NewWriter(w) },
		"m.ko.zst": func(w io.Writer) (io.WriteCloser, error) { return zstd.NewWriter(w) },
		"m.ko.gz":  func(w io.Writer) (io.WriteCloser, error) { return gzip.NewWriter(w), nil },
	} {
		var b bytes.Buffer
		zw, err := compress(&b)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(img)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := DecompressModule(name, b.Bytes())
		if err != nil {
			t.Fatalf("DecompressModule(%s): %v", name, err)
		}
		if !bytes.Equal(got, img) {
			t.Errorf("DecompressModule(%s) returned %d bytes, want the %d-byte image", name, len(got), len(img))
		}
	}
	if got, err := DecompressModule("m.ko", img); err != nil || !bytes.Equal(got, img) {
		t.Errorf("DecompressModule(m.ko) changed a plain module (err %v)", err)
	}
}

func TestDecompressModuleRejects(t *testing.T) {
	if _, err := DecompressModule("m.ko.xz", []byte("not xz")); err == nil {
		t.Error("DecompressModule accepted corrupt xz")
	}
	if _, err := DecompressModule("m.txt", nil); err == nil {
		t.Error("DecompressModule accepted a file that is not a module")
	}
}

func TestModuleBase(t *testing.T) {
	for path, want := range map[string]string{
		"/lib/modules/k/kernel/drivers/char/hw_random/virtio-rng.ko": "virtio_rng",
		"/x/virtio_blk.ko.zst": "virtio_blk",
	} {
		if got := moduleBase(path); got != want {
			t.Errorf("moduleBase(%q) = %q, want %q", path, got, want)
		}
	}
}
