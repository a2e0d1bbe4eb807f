package kmod

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func TestDecompress(t *testing.T) {
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
		got, err := Decompress(name, b.Bytes())
		if err != nil {
			t.Fatalf("Decompress(%s): %v", name, err)
		}
		if !bytes.Equal(got, img) {
			t.Errorf("Decompress(%s) returned %d bytes, want the %d-byte image", name, len(got), len(img))
		}
	}
	if got, err := Decompress("m.ko", img); err != nil || !bytes.Equal(got, img) {
		t.Errorf("Decompress(m.ko) changed a plain module (err %v)", err)
	}
}

func TestDecompressRejects(t *testing.T) {
	if _, err := Decompress("m.ko.xz", []byte("not xz")); err == nil {
		t.Error("Decompress accepted corrupt xz")
	}
	if _, err := Decompress("m.txt", nil); err == nil {
		t.Error("Decompress accepted a file that is not a module")
	}
}
