package vmdisk

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"banger/internal/atomicfile"
	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/guestabi"
	"banger/internal/progress"
)

// WorkMarker is the file, at the top of a work disk, that banger's guest
// init writes once it has made the disk root's own on the first boot.
// Its path is reserved: a file_sync entry cannot write it.
const WorkMarker = guestabi.WorkMarker

// MinWorkSize is the smallest work disk BuildWork makes.
const MinWorkSize int64 = 16 << 20

// progressStep is the step BuildWork's notes belong to.
const progressStep = "work disk"

// WorkOptions describe a work disk.
type WorkOptions struct {
	Path           string // the disk file to make; it must not exist
	Size           int64  // apparent size in bytes, the VM's disk_size
	AuthorizedKeys []byte // written to /root/.ssh/authorized_keys
	FileSync       []config.FileSync
	HostHome       string // what ~ means in a file_sync host path
	Trees          []Tree // directories such as a workspace copy
	Progress       progress.Func
}

// BuildWork makes the work disk that the guest mounts at /root: a sparse
// ext4 file holding the user's public key and the file_sync entries,
// built with mkfs.ext4 -d from a staging directory beside o.Path, with
// nothing mounted. Files keep the daemon user's uid; the guest's init
// gives them to root on first boot. All entries are checked, and the
// content's size against o.Size, before anything is written; on error
// nothing is left at o.Path. The staging copy briefly takes as much host
// space as the content.
func BuildWork(ctx context.Context, o WorkOptions) error {
	return buildWork(ctx, o, runMkfs)
}

// WorkCmdline is the kernel command line parameter telling the guest's
// init that the work disk is dev, such as /dev/vdc.
func WorkCmdline(dev string) string { return guestabi.WorkParam + "=" + dev }

func buildWork(ctx context.Context, o WorkOptions, mkfs mkfsFunc) error {
	if err := o.check(); err != nil {
		return err
	}
	plan, err := planWork(o)
	if err != nil {
		return err
	}
	return atomicfile.Make(o.Path, func(tmp string) error {
		if err := checkFits(ctx, plan, o.Size, tmp, mkfs); err != nil {
			return err
		}
		staging, err := os.MkdirTemp(filepath.Dir(o.Path), "."+filepath.Base(o.Path)+".staging-")
		if err != nil {
			return fmt.Errorf("staging the work disk: %w", err)
		}
		defer removeStaging(staging)
		if err := plan.stage(ctx, staging); err != nil {
			return fmt.Errorf("staging the work disk: %w", err)
		}
		if err := plan.writeTrees(ctx, staging); err != nil {
			return err
		}
		if err := mkfs(ctx, tmp, "banger-work", staging, o.Size); err != nil {
			return fmt.Errorf("making the work disk %s: %w", o.Path, err)
		}
		return nil
	})
}

func (o WorkOptions) check() error {
	switch {
	case o.Path == "":
		return errdefs.InvalidArgument("no path given for the work disk")
	case o.Size < MinWorkSize:
		return errdefs.InvalidArgument("disk size %d bytes is too small for a work disk: give at least %d MiB", o.Size, MinWorkSize>>20)
	}
	if ok, err := exists(o.Path); err != nil {
		return err
	} else if ok {
		return errdefs.AlreadyExists("work disk %s already exists; it holds the VM's /root, so banger will not overwrite it: delete the VM to start afresh", o.Path)
	}
	return nil
}

// checkFits makes an empty filesystem of the disk's size in tmp to learn
// how much room ext4 leaves after its own metadata, and refuses content
// that would not fit: mkfs's own complaint would not say which setting to
// change.
func checkFits(ctx context.Context, p *workPlan, size int64, tmp string, mkfs mkfsFunc) error {
	if err := mkfs(ctx, tmp, "banger-work", "", size); err != nil {
		return fmt.Errorf("making the work disk: %w", err)
	}
	sp, err := readSpace(tmp)
	if err != nil {
		return err
	}
	blocks, inodes := p.usage(sp.BlockSize)
	if blocks > sp.FreeBlocks || inodes > sp.FreeInodes {
		what, less := "your public key and the file_sync entries", "sync less"
		if len(p.trees) > 0 {
			what, less = "your public key, the file_sync entries and the copied repository", "copy less"
		}
		return errdefs.InvalidArgument("the work disk's content (about %s in %d files and directories: %s) does not fit in a disk of %s, which has %s free after ext4's own metadata: raise --disk-size (disk_size in the config) or %s",
			mib(blocks*sp.BlockSize), inodes, what, mib(size), mib(sp.FreeBlocks*sp.BlockSize), less)
	}
	return nil
}

func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
