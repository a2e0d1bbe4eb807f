package vmdisk

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"

	"banger/internal/atomicfile"
)

// CopyDisk copies the disk image src to dst sharing blocks where the
// filesystem can (reflink) and keeping holes elsewhere, so a mostly empty
// 8 GiB upper disk costs what it holds. dst appears complete or not at
// all.
func CopyDisk(ctx context.Context, src, dst string) error {
	return atomicfile.Make(dst, func(tmp string) error {
		cmd := exec.CommandContext(ctx, "cp", "--reflink=auto", "--sparse=always", "--", src, tmp)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("copying %s to %s: %w: %s", filepath.Base(src), dst, err, out)
		}
		return nil
	})
}
