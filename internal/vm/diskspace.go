package vm

import (
	"fmt"

	"golang.org/x/sys/unix"

	"banger/internal/config"
	"banger/internal/errdefs"
)

// freeBytes is the space free to unprivileged writers on the filesystem
// holding dir; a variable so that tests can stand in for statfs.
var freeBytes = func(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// checkDiskFits refuses a work disk larger than the free space of the
// state directory, where it is made. Disks are sparse and take only what
// is written, but one that can never be filled is a mistake.
func checkDiskFits(stateDir string, diskBytes int64) error {
	free, err := freeBytes(stateDir)
	if err != nil {
		return fmt.Errorf("checking the free space in %s: %w", stateDir, err)
	}
	if diskBytes > free {
		return errdefs.InvalidArgument("a %s disk asked, %s free in %s: pass a smaller --disk-size or free space", config.Size(diskBytes), humanSize(free), stateDir)
	}
	return nil
}

// humanSize writes n in the largest binary unit that leaves at least 1,
// to a tenth: "61.9G".
func humanSize(n int64) string {
	units := []struct {
		size config.Size
		name string
	}{{config.TiB, "T"}, {config.GiB, "G"}, {config.MiB, "M"}, {config.KiB, "K"}}
	for _, u := range units {
		if n >= int64(u.size) {
			return fmt.Sprintf("%.1f%s", float64(n)/float64(u.size), u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}
