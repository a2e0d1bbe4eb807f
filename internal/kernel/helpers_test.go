package kernel

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/blakesmith/ar"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
)

// tarEntry is one member of a test data.tar.
type tarEntry struct {
	name, body, link string
	typ              byte
}

func file(name, body string) tarEntry { return tarEntry{name: name, body: body, typ: tar.TypeReg} }
func dir(name string) tarEntry        { return tarEntry{name: name, typ: tar.TypeDir} }
func symlink(name, link string) tarEntry {
	return tarEntry{name: name, link: link, typ: tar.TypeSymlink}
}

func makeTar(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ == tar.TypeDir {
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("tar header %s: %v", e.name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatalf("tar body %s: %v", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("closing tar: %v", err)
	}
	return buf.Bytes()
}

func xzBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatalf("xz writer: %v", err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatalf("xz write: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("xz close: %v", err)
	}
	return buf.Bytes()
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatalf("gzip write: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("gzip close: %v", err)
	}
	return buf.Bytes()
}

// makeDeb builds a .deb whose data.tar.xz holds entries.
func makeDeb(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := ar.NewWriter(&buf)
	if err := w.WriteGlobalHeader(); err != nil {
		t.Fatalf("ar: %v", err)
	}
	members := []struct {
		name string
		body []byte
	}{
		{"debian-binary", []byte("2.0\n")},
		{"control.tar.xz", xzBytes(t, makeTar(t, []tarEntry{file("./control", "Package: x\n")}))},
		{"data.tar.xz", xzBytes(t, makeTar(t, entries))},
	}
	for _, m := range members {
		hdr := &ar.Header{Name: m.name, ModTime: time.Unix(0, 0), Mode: 0o644, Size: int64(len(m.body))}
		if err := w.WriteHeader(hdr); err != nil {
			t.Fatalf("ar header: %v", err)
		}
		if _, err := w.Write(m.body); err != nil {
			t.Fatalf("ar body: %v", err)
		}
	}
	return buf.Bytes()
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// fakeELF builds an ELF64 x86-64 executable holding the given sections.
func fakeELF(t *testing.T, sections map[string][]byte, padding int) []byte {
	t.Helper()
	var body bytes.Buffer
	body.Write(make([]byte, 64)) // room for the ELF header
	shstr := []byte{0}
	headers := []elf.Section64{{}}
	for _, name := range slices.Sorted(maps.Keys(sections)) {
		headers = append(headers, elf.Section64{Name: uint32(len(shstr)), Type: uint32(elf.SHT_PROGBITS),
			Off: uint64(body.Len()), Size: uint64(len(sections[name])), Addralign: 1})
		shstr = append(append(shstr, name...), 0)
		body.Write(sections[name])
	}
	body.Write(make([]byte, padding)) // compressible bulk, like a real kernel
	headers = append(headers, elf.Section64{Name: uint32(len(shstr)), Type: uint32(elf.SHT_STRTAB),
		Off: uint64(body.Len()), Size: uint64(len(shstr) + len(".shstrtab") + 1), Addralign: 1})
	body.Write(append(append(shstr, ".shstrtab"...), 0))
	shoff := body.Len()
	for _, h := range headers {
		binary.Write(&body, binary.LittleEndian, h)
	}
	out := body.Bytes()
	hdr := elf.Header64{Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: 1,
		Shoff: uint64(shoff), Ehsize: 64, Shentsize: 64, Shnum: uint16(len(headers)), Shstrndx: uint16(len(headers) - 1)}
	copy(hdr.Ident[:], []byte{0x7f, 'E', 'L', 'F', 2, 1, 1})
	var hb bytes.Buffer
	binary.Write(&hb, binary.LittleEndian, hdr)
	copy(out, hb.Bytes())
	return out
}

// fakeVmlinux is a small ELF kernel with the section Identify looks for.
func fakeVmlinux(t *testing.T) []byte {
	return fakeELF(t, map[string][]byte{".init.text": []byte("init code"), ".text": []byte("kernel text")}, 20<<20)
}

// lz4Legacy compresses b as the kernel does: the legacy frame of 8 MiB
// blocks, then the uncompressed size.
func lz4Legacy(t *testing.T, b []byte) []byte {
	t.Helper()
	out := binary.LittleEndian.AppendUint32(nil, lz4LegacyMagic)
	for len(b) > 0 {
		chunk := b[:min(len(b), lz4LegacyBlock)]
		dst := make([]byte, lz4.CompressBlockBound(len(chunk)))
		n, err := lz4.CompressBlock(chunk, dst, nil)
		if err != nil || n == 0 {
			t.Fatalf("lz4 compress: n=%d err=%v", n, err)
		}
		out = binary.LittleEndian.AppendUint32(out, uint32(n))
		out = append(out, dst[:n]...)
		b = b[len(chunk):]
	}
	return out
}

func withSizeTrailer(payload []byte, size int) []byte {
	return binary.LittleEndian.AppendUint32(payload, uint32(size))
}

// fakeBzImage wraps payload in a minimal x86 boot header.
func fakeBzImage(payload []byte) []byte {
	const setupSects = 3
	pm := (setupSects + 1) * sectorSize
	const payloadOffset = 0x100
	img := make([]byte, pm+payloadOffset+len(payload)+64)
	img[setupSectsOff] = setupSects
	copy(img[bootMagicOff:], bootMagic)
	binary.LittleEndian.PutUint16(img[bootVersionOff:], 0x20f)
	binary.LittleEndian.PutUint32(img[payloadOffsetOff:], payloadOffset)
	binary.LittleEndian.PutUint32(img[payloadLengthOff:], uint32(len(payload)))
	copy(img[pm+payloadOffset:], payload)
	return img
}
