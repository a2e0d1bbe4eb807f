package kernel

import (
	"bytes"
	"debug/elf"
	"encoding/binary"

	"banger/internal/errdefs"
)

const elfMagic = "\x7fELF"

// checkVmlinux checks b starts with an ELF64 little-endian x86-64 header.
func checkVmlinux(b []byte) error {
	if !bytes.HasPrefix(b, []byte(elfMagic)) {
		return errdefs.InvalidArgument("no ELF magic")
	}
	if len(b) < 64 || elf.Class(b[elf.EI_CLASS]) != elf.ELFCLASS64 || elf.Data(b[elf.EI_DATA]) != elf.ELFDATA2LSB {
		return errdefs.InvalidArgument("not a 64-bit little-endian ELF file")
	}
	if m := elf.Machine(binary.LittleEndian.Uint16(b[18:])); m != elf.EM_X86_64 {
		return errdefs.InvalidArgument("ELF file for %v, not x86-64", m)
	}
	return nil
}
