package image

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"banger/internal/errdefs"
)

// The ext2/3/4 superblock starts 1024 bytes in; its magic is 56 bytes
// into it.
const (
	ext4MagicOffset = 1024 + 56
	ext4Magic       = 0xEF53
)

// CheckExt4 checks that path is a regular file holding an ext4 (or
// ext2/3, which the ext4 driver mounts) filesystem.
func CheckExt4(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errdefs.NotFound("%s does not exist", path)
	case err != nil:
		return fmt.Errorf("checking %s: %w", path, err)
	case fi.IsDir():
		return errdefs.InvalidArgument("%s is a directory, not an ext4 filesystem image", path)
	case !fi.Mode().IsRegular():
		return errdefs.InvalidArgument("%s is not a regular file, so not an ext4 filesystem image", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	defer f.Close()
	var magic [2]byte
	if _, err := f.ReadAt(magic[:], ext4MagicOffset); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("checking %s: %w", path, err)
	} else if err != nil || binary.LittleEndian.Uint16(magic[:]) != ext4Magic {
		return errdefs.InvalidArgument("%s is not an ext4 filesystem image", path)
	}
	return nil
}

// mkfsArgs makes an ext4 file of the given size from tree, without
// mounting anything. root_owner keeps the filesystem's root owned by root
// whoever owns the tree's top directory. out must be a new file: its
// unwritten blocks read as zeros, so the journal need not be zeroed
// (lazy_journal_init), which keeps 64 MiB of zeros out of every image.
func mkfsArgs(tree, out, size string) []string {
	return []string{"-q", "-F", "-L", "rootfs", "-E", "root_owner=0:0,lazy_journal_init=1", "-d", tree, out, size}
}

// allocated is the disk space a file takes (a sparse file takes less than
// its size).
func allocated(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}
