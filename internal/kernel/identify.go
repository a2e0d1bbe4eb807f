package kernel

import (
	"debug/elf"
	"fmt"
	"io"
	"os"

	"banger/internal/errdefs"
)

// Format is the on-disk form of a kernel image.
type Format int

// Kernel image formats.
const (
	BzImage    Format = iota + 1 // x86 boot image with a compressed payload (QEMU boots it)
	ELFVmlinux                   // uncompressed ELF vmlinux (Firecracker boots it)
)

func (f Format) String() string {
	switch f {
	case BzImage:
		return "bzImage"
	case ELFVmlinux:
		return "vmlinux"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Identify tells a bzImage from an ELF x86-64 vmlinux; anything else is an
// InvalidArgument error. An ELF file counts as a kernel when it has the
// .init.text section every vmlinux has, which rules out ordinary programs.
func Identify(path string) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("identifying kernel %s: %w", path, err)
	}
	defer f.Close()
	hdr := make([]byte, bootHeaderEnd)
	n, err := io.ReadFull(f, hdr)
	if err != nil && err != io.ErrUnexpectedEOF {
		return 0, notKernel(path)
	}
	hdr = hdr[:n]
	if len(hdr) == bootHeaderEnd && string(hdr[bootMagicOff:bootMagicOff+4]) == bootMagic {
		return BzImage, nil
	}
	if err := checkVmlinux(hdr); err != nil {
		if len(hdr) >= 4 && string(hdr[:4]) == elfMagic {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		return 0, notKernel(path)
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return 0, errdefs.InvalidArgument("%s: reading ELF sections: %v", path, err)
	}
	if ef.Section(".init.text") == nil {
		return 0, errdefs.InvalidArgument("%s is an ELF program, not a Linux kernel (no .init.text section)", path)
	}
	return ELFVmlinux, nil
}
