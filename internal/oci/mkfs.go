package oci

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"banger/internal/errdefs"
)

const (
	mib       = 1 << 20
	blockSize = 4096
	// headroom is added to the content size when no size is given.
	headroom = 256 * mib
)

// mkfsDirs are searched for mkfs.ext4 when it is not on PATH, which is
// common for non-root users.
var mkfsDirs = []string{"/usr/sbin", "/sbin"}

// findMkfs locates mkfs.ext4.
func findMkfs() (string, error) {
	if p, err := exec.LookPath("mkfs.ext4"); err == nil {
		return p, nil
	}
	for _, d := range mkfsDirs {
		p := filepath.Join(d, "mkfs.ext4")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", errdefs.FailedPrecondition("mkfs.ext4 not found on PATH or in %s: install e2fsprogs", strings.Join(mkfsDirs, ", "))
}

// treeSize estimates the space a tree needs on ext4: file contents rounded
// up to blocks, hard links counted once, a block for every other inode.
func treeSize(root string) (int64, error) {
	var total int64
	seen := map[uint64]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 && !fi.IsDir() {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		if fi.Mode().IsRegular() {
			total += roundUp(fi.Size(), blockSize)
		} else {
			total += blockSize
		}
		return nil
	})
	return total, err
}

// defaultSize is content * 1.5 + 256 MiB, rounded up to a MiB.
func defaultSize(content int64) int64 {
	return roundUp(content+content/2+headroom, mib)
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

// mkfs builds an ext4 image of size bytes at out from tree.
func mkfs(ctx context.Context, run func(context.Context, string, ...string) *exec.Cmd, tree, out string, size int64) error {
	bin, err := findMkfs()
	if run == nil {
		if err != nil {
			return err
		}
		run = exec.CommandContext
	} else if err != nil {
		bin = "mkfs.ext4" // a custom runner may find it elsewhere
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	sizeArg := strconv.FormatInt(roundUp(size, 1024)/1024, 10) + "k"
	output, err := run(ctx, bin, "-q", "-F", "-L", "rootfs", "-d", tree, out, sizeArg).CombinedOutput()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("mkfs.ext4: %w: %s", err, strings.TrimSpace(string(output)))
	}
	return nil
}

// publish moves the finished image from tmp to out, syncing it first and
// never replacing an existing out.
func publish(tmp, out string) error {
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return err
	}
	err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, out, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// The filesystem lacks RENAME_NOREPLACE; link(2) refuses to
		// replace too.
		if err = os.Link(tmp, out); err == nil {
			err = os.Remove(tmp)
		}
	}
	if errors.Is(err, fs.ErrExist) {
		return errdefs.AlreadyExists("%s already exists: remove it or choose another path", out)
	}
	return err
}

// removeTree deletes the scratch tree. Without root, directories the image
// made read-only are opened up first.
func removeTree(root string) error {
	if os.Geteuid() != 0 {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o700)
			}
			return nil
		})
	}
	return os.RemoveAll(root)
}
