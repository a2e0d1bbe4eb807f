package kernel

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"banger/internal/errdefs"
)

// Offsets in the x86 boot header (Documentation/arch/x86/boot.rst).
const (
	setupSectsOff    = 0x1f1
	bootMagicOff     = 0x202
	bootVersionOff   = 0x206
	payloadOffsetOff = 0x248
	payloadLengthOff = 0x24c
	bootHeaderEnd    = 0x250
	bootMagic        = "HdrS"
	sectorSize       = 512
)

// ExtractVmlinux returns the uncompressed ELF vmlinux inside a bzImage,
// which Firecracker needs on x86. Given an ELF vmlinux, it returns it as
// is. Anything else is an InvalidArgument error.
func ExtractVmlinux(bzImage io.ReaderAt, size int64) ([]byte, error) {
	name := readerName(bzImage)
	hdr := make([]byte, min(size, bootHeaderEnd))
	if _, err := bzImage.ReadAt(hdr, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if bytes.HasPrefix(hdr, []byte(elfMagic)) {
		return readELF(bzImage, size, name)
	}
	if len(hdr) < bootHeaderEnd || string(hdr[bootMagicOff:bootMagicOff+4]) != bootMagic {
		return nil, notKernel(name)
	}
	payload, err := readPayload(bzImage, size, hdr, name)
	if err != nil {
		return nil, err
	}
	vmlinux, err := decompressPayload(payload)
	if err != nil {
		return nil, fmt.Errorf("decompressing the payload of %s: %w", name, err)
	}
	if err := checkVmlinux(vmlinux); err != nil {
		return nil, fmt.Errorf("decompressed payload of %s: %w", name, err)
	}
	return vmlinux, nil
}

// readPayload reads the compressed kernel the boot header points at.
func readPayload(r io.ReaderAt, size int64, hdr []byte, name string) ([]byte, error) {
	if v := binary.LittleEndian.Uint16(hdr[bootVersionOff:]); v < 0x208 {
		return nil, errdefs.InvalidArgument("%s: boot protocol %d.%02d is too old to describe its payload", name, v>>8, v&0xff)
	}
	setupSects := int64(hdr[setupSectsOff])
	if setupSects == 0 {
		setupSects = 4
	}
	start := (setupSects+1)*sectorSize + int64(binary.LittleEndian.Uint32(hdr[payloadOffsetOff:]))
	length := int64(binary.LittleEndian.Uint32(hdr[payloadLengthOff:]))
	if length == 0 || start+length > size {
		return nil, errdefs.InvalidArgument("%s: payload (%d bytes at %d) lies outside the %d-byte file", name, length, start, size)
	}
	payload := make([]byte, length)
	if _, err := r.ReadAt(payload, start); err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading the payload of %s: %w", name, err)
	}
	return payload, nil
}

func readELF(r io.ReaderAt, size int64, name string) ([]byte, error) {
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if err := checkVmlinux(b); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

func notKernel(name string) error {
	return errdefs.InvalidArgument("%s is not a Linux kernel (no bzImage header or ELF magic)", name)
}

// readerName names r in errors: the file name for an *os.File.
func readerName(r io.ReaderAt) string {
	if n, ok := r.(interface{ Name() string }); ok {
		return n.Name()
	}
	return "kernel image"
}
