package initramfs

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"testing"
)

// fakeELF returns a minimal x86-64 ELF file: with a PT_INTERP program
// header when dynamic, and with a .modinfo section holding modinfo's
// NUL-separated fields when modinfo is non-nil.
func fakeELF(t *testing.T, dynamic bool, modinfo []string) []byte {
	t.Helper()
	var phdrs []elf.Prog64
	if dynamic {
		phdrs = append(phdrs, elf.Prog64{Type: uint32(elf.PT_INTERP)})
	}
	var info []byte
	for _, f := range modinfo {
		info = append(info, f+"\x00"...)
	}
	shstrtab := []byte("\x00.modinfo\x00.shstrtab\x00")
	infoOff := uint64(64 + 56*len(phdrs))
	strOff := infoOff + uint64(len(info))
	shOff := strOff + uint64(len(shstrtab))
	shdrs := []elf.Section64{
		{},
		{Name: 1, Type: uint32(elf.SHT_PROGBITS), Off: infoOff, Size: uint64(len(info)), Addralign: 1},
		{Name: 10, Type: uint32(elf.SHT_STRTAB), Off: strOff, Size: uint64(len(shstrtab)), Addralign: 1},
	}
	hdr := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Ehsize: 64, Phentsize: 56, Phnum: uint16(len(phdrs)), Shentsize: 64,
		Shoff: shOff, Shnum: uint16(len(shdrs)), Shstrndx: 2,
	}
	if len(phdrs) > 0 {
		hdr.Phoff = 64
	}
	copy(hdr.Ident[:], []byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	var b bytes.Buffer
	for _, v := range []any{hdr, phdrs, info, shstrtab, shdrs} {
		if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func TestFakeELFParses(t *testing.T) {
	f, err := elf.NewFile(bytes.NewReader(fakeELF(t, true, []string{"depends=a,b"})))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Progs) != 1 || f.Progs[0].Type != elf.PT_INTERP {
		t.Errorf("program headers = %v, want one PT_INTERP", f.Progs)
	}
	data, err := f.Section(".modinfo").Data()
	if err != nil || string(data) != "depends=a,b\x00" {
		t.Errorf(".modinfo = %q (%v)", data, err)
	}
}
