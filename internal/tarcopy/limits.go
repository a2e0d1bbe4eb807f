package tarcopy

import (
	"fmt"
	"math"

	"golang.org/x/sys/unix"
)

// Margin is the free space a copy leaves on the receiving disk.
const Margin = 64 << 20

// inodeMargin is the number of free inodes a copy leaves.
const inodeMargin = 1024

// Limits bound what one Extract writes: a stream from a guest may claim
// to hold anything.
type Limits struct {
	MaxBytes   int64 // file contents, in bytes
	MaxEntries int64 // files, directories and links
}

// LimitsFor returns the limits of a copy to dest: the free space and
// inodes of its file system (or its parent's, when dest does not exist
// yet), less a margin.
func LimitsFor(dest string) (Limits, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dest, &st); err != nil {
		parent := parentOf(dest).dir
		if err := unix.Statfs(parent, &st); err != nil {
			return Limits{}, fmt.Errorf("reading the free space of %s: %w", parent, err)
		}
	}
	lim := Limits{MaxBytes: int64(st.Bavail)*int64(st.Bsize) - Margin, MaxEntries: math.MaxInt64}
	if st.Files > 0 {
		lim.MaxEntries = int64(st.Ffree) - inodeMargin
	}
	lim.MaxBytes = max(lim.MaxBytes, 0)
	lim.MaxEntries = max(lim.MaxEntries, 0)
	return lim, nil
}
