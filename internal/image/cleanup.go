package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"banger/internal/privilege"
)

// cleanupTimeout bounds removing a build's scratch after a failure or
// cancellation (the build's own context may be done by then).
const cleanupTimeout = 5 * time.Minute

// removeTree deletes a root-owned build directory. It never follows a
// mount: debootstrap mounts /proc and /sys in the tree while it runs and
// may leave them behind if killed, so those are unmounted first, and rm
// stays on the directory's own filesystem in any case.
func removeTree(ctx context.Context, r privilege.Runner, dir string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if _, err := os.Lstat(dir); os.IsNotExist(err) {
		return nil
	}
	mounts, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	for _, m := range mounts { // deepest first
		if err := run(ctx, r, nil, nil, "umount", m); err != nil {
			_ = run(ctx, r, nil, nil, "umount", "-l", m)
		}
	}
	if left, err := mountsUnder(dir); err != nil {
		return err
	} else if len(left) > 0 {
		return fmt.Errorf("not removing %s: %s is still mounted; unmount it and remove the directory by hand", dir, left[0])
	}
	if err := run(ctx, r, nil, nil, "rm", "-rf", "--one-file-system", "--", dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}

// RemoveTree deletes dir, unmounting first what is mounted inside it
// (see removeTree): for a build's scratch dir that a crashed daemon left.
func RemoveTree(ctx context.Context, r privilege.Runner, dir string) error {
	return removeTree(ctx, r, dir)
}

// MountsUnder lists the mount points at or below dir in mountinfo (the
// text of /proc/self/mountinfo), deepest first, their escapes decoded.
func MountsUnder(mountinfo, dir string) []string { return parseMountsUnder(mountinfo, dir) }

// mountsUnder lists this mount namespace's mount points at or below dir,
// deepest first.
func mountsUnder(dir string) ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("reading mounts: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return parseMountsUnder(string(data), abs), nil
}

// parseMountsUnder reads mount points at or below dir from mountinfo text.
func parseMountsUnder(mountinfo, dir string) []string {
	dir = filepath.Clean(dir)
	var out []string
	for _, line := range strings.Split(mountinfo, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return out
}

// unescapeMount undoes mountinfo's octal escapes: \040 (space), \011
// (tab), \012 (newline) and \134 (backslash).
func unescapeMount(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
