package initramfs

import (
	"fmt"
	"io"
)

// File types in a cpio mode, as in stat(2).
const (
	typeDir  = 0o040000
	typeReg  = 0o100000
	typeChar = 0o020000
	typeMask = 0o170000
)

// entry is one file of the archive. Names have no leading slash.
type entry struct {
	name         string
	mode         uint32 // type and permission bits
	major, minor uint32 // device number of a device node
	data         []byte
}

// newcWriter writes the "newc" cpio format the kernel unpacks. It exists
// because github.com/cavaliergopher/cpio cannot set a device node's
// rdevmajor/rdevminor, which /dev/console needs. Every file gets owner root
// and mtime 0, so the same entries always give the same bytes.
type newcWriter struct {
	w   io.Writer
	ino uint32
}

func (n *newcWriter) write(e entry) error {
	n.ino++
	nlink := 1
	if e.mode&typeMask == typeDir {
		nlink = 2
	}
	return n.record(n.ino, e, nlink)
}

// close writes the trailer record.
func (n *newcWriter) close() error {
	return n.record(0, entry{name: "TRAILER!!!"}, 1)
}

func (n *newcWriter) record(ino uint32, e entry, nlink int) error {
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, e.mode, 0, 0, nlink, 0, len(e.data), 0, 0, e.major, e.minor, len(e.name)+1, 0)
	// Every record starts 4-aligned, so the header plus name and the data
	// are each padded to a multiple of 4.
	for _, b := range [][]byte{[]byte(hdr), []byte(e.name + "\x00"), pad(len(hdr) + len(e.name) + 1), e.data, pad(len(e.data))} {
		if _, err := n.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// pad returns the zero bytes that round size up to a multiple of 4.
func pad(size int) []byte {
	return make([]byte, (4-size%4)%4)
}
