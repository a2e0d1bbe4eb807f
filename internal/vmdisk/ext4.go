package vmdisk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"banger/internal/paths"
)

// mkfsFunc makes an ext4 filesystem of size bytes in file, which exists
// and is left sparse, holding a copy of tree unless tree is "".
type mkfsFunc func(ctx context.Context, file, label, tree string, size int64) error

// lookTool finds a host program; tests replace it.
var lookTool = paths.LookTool

// findTool finds a program of e2fsprogs.
func findTool(name string) (string, error) {
	p, err := lookTool(name)
	if err != nil {
		return "", fmt.Errorf("%w: install e2fsprogs (apt-get install e2fsprogs)", err)
	}
	return p, nil
}

// runMkfs runs mkfs.ext4. It empties and resizes file first, so that
// its blocks read as zeros: mkfs then need not write the journal, and it
// marks the inode tables as zeroed, which saves the guest's kernel from
// zeroing them (and filling the sparse file) after the first mount.
func runMkfs(ctx context.Context, file, label, tree string, size int64) error {
	bin, err := findTool("mkfs.ext4")
	if err != nil {
		return err
	}
	if err := os.Truncate(file, 0); err != nil {
		return err
	}
	if err := os.Truncate(file, size); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, bin, mkfsArgs(file, label, tree, size)...).CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("mkfs.ext4: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// mkfsArgs keeps no blocks in reserve (-m 0): the guest's only user is
// root, for whom they would be reserved. root_owner makes the filesystem's
// root directory root's, whoever runs mkfs.
func mkfsArgs(file, label, tree string, size int64) []string {
	args := []string{"-F", "-q", "-m", "0", "-L", label, "-E", "root_owner=0:0,lazy_journal_init=1"}
	if tree != "" {
		args = append(args, "-d", tree)
	}
	return append(args, file, strconv.FormatInt(size/1024, 10)+"k")
}

// space is the room an empty ext4 filesystem offers.
type space struct {
	BlockSize  int64
	FreeBlocks int64
	FreeInodes int64
}

// Offsets in the ext4 superblock, which starts 1024 bytes into the file.
const (
	sbOffset          = 1024
	sbFreeBlocksLo    = 0x0C
	sbFreeInodes      = 0x10
	sbLogBlockSize    = 0x18
	sbMagic           = 0x38
	sbFeatureIncompat = 0x60
	sbFreeBlocksHi    = 0x158
	sbSize            = 0x400
	ext4Magic         = 0xEF53
	incompat64bit     = 0x80
)

// readSpace reads the free blocks and inodes from an ext4 superblock.
func readSpace(file string) (space, error) {
	f, err := os.Open(file)
	if err != nil {
		return space{}, err
	}
	defer f.Close()
	sb := make([]byte, sbSize)
	if _, err := f.ReadAt(sb, sbOffset); err != nil && !errors.Is(err, io.EOF) {
		return space{}, fmt.Errorf("reading the superblock of %s: %w", file, err)
	}
	le := binary.LittleEndian
	if le.Uint16(sb[sbMagic:]) != ext4Magic {
		return space{}, fmt.Errorf("%s holds no ext4 filesystem", file)
	}
	free := int64(le.Uint32(sb[sbFreeBlocksLo:]))
	if le.Uint32(sb[sbFeatureIncompat:])&incompat64bit != 0 {
		free |= int64(le.Uint32(sb[sbFreeBlocksHi:])) << 32
	}
	return space{
		BlockSize:  1024 << le.Uint32(sb[sbLogBlockSize:]),
		FreeBlocks: free,
		FreeInodes: int64(le.Uint32(sb[sbFreeInodes:])),
	}, nil
}

// errNoReflink is returned inside PrepareRoot when cloning is unsupported.
var errNoReflink = errors.New("the filesystem cannot clone files")
