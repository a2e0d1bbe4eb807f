package vmdisk

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// ficlone makes dst share all of src's blocks (a reflink), as
// cp --reflink=always does. Only filesystems with shared extents (btrfs,
// xfs, bcachefs) support it.
func ficlone(dst, src *os.File) error {
	return unix.IoctlFileClone(int(dst.Fd()), int(src.Fd()))
}

// cloneUnsupported reports whether a FICLONE error means the filesystem
// cannot share blocks, rather than a failure worth reporting: ext4 and
// tmpfs answer EOPNOTSUPP (or EINVAL, ENOTTY on older kernels), and two
// filesystems EXDEV.
func cloneUnsupported(err error) bool {
	for _, e := range []error{unix.EOPNOTSUPP, unix.ENOTTY, unix.ENOSYS, unix.EINVAL, unix.EXDEV} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
