package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// growImage writes to dst a copy of the ext4 image src that is factor
// times as large, both in apparent size and in blocks on disk, so that
// anything that copied the image would take factor times as long. The
// copy is grown with resize2fs and given a file of preallocated blocks
// (debugfs fallocate), into which data is written straight through the
// image file: the guest reads the file as zeros, the host stores every
// block. Nothing is mounted.
func growImage(ctx context.Context, src, dst string, factor int64) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	// run returns a tool's stdout. (debugfs exits 0 even when a request
	// fails: the filler's size is checked at the end instead.)
	run := func(name string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		// e2fsck's 1 means it fixed something harmless.
		var ee *exec.ExitError
		if name == "e2fsck" && errors.As(err, &ee) && ee.ExitCode() == 1 {
			err = nil
		}
		if err != nil {
			return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, lastLines(string(out)+stderr.String(), 10))
		}
		return string(out), nil
	}
	if _, err := run("cp", "--sparse=always", src, dst); err != nil {
		return err
	}
	// resize2fs wants a freshly checked filesystem.
	if _, err := run("e2fsck", "-f", "-p", dst); err != nil {
		return err
	}
	if _, err := run("resize2fs", dst, fmt.Sprintf("%dK", factor*st.Size()>>10)); err != nil {
		return err
	}
	out, err := run("dumpe2fs", "-h", dst)
	if err != nil {
		return err
	}
	bs := fieldInt(out, "Block size:")
	if bs <= 0 {
		return fmt.Errorf("dumpe2fs -h %s shows no block size", dst)
	}
	n := (factor*allocatedBytes(src) - allocatedBytes(dst)) / bs
	for _, req := range []string{
		"write /dev/null /bench-filler",
		fmt.Sprintf("fallocate /bench-filler 0 %d", n-1),
		fmt.Sprintf("sif /bench-filler size %d", n*bs),
	} {
		if _, err := run("debugfs", "-w", "-R", req, dst); err != nil {
			return err
		}
	}
	if out, err = run("debugfs", "-R", "ex /bench-filler", dst); err != nil {
		return err
	}
	return fillExtents(dst, out, bs, n)
}

// leafExtent matches a leaf line of debugfs's `ex` table: logical and
// physical block ranges, then the length. Index lines have one range.
var leafExtent = regexp.MustCompile(`(\d+)\s*-\s*(\d+)\s+(\d+)\s*-\s*(\d+)\s+(\d+)\s+Uninit`)

// fillExtents writes random-looking data, which no filesystem stores as
// holes, into the image's blocks that the `ex` table lists as the file's
// (unwritten) extents, and checks that they add up to want blocks.
func fillExtents(image, table string, bs, want int64) error {
	buf := make([]byte, 4<<20)
	if _, err := rand.Read(buf); err != nil {
		return err
	}
	f, err := os.OpenFile(image, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var total int64
	for _, m := range leafExtent.FindAllStringSubmatch(table, -1) {
		start, _ := strconv.ParseInt(m[3], 10, 64)
		length, _ := strconv.ParseInt(m[5], 10, 64)
		total += length
		for off, left := start*bs, length*bs; left > 0; {
			k := min(left, int64(len(buf)))
			if _, err := f.WriteAt(buf[:k], off); err != nil {
				return err
			}
			off, left = off+k, left-k
		}
	}
	if total != want {
		return fmt.Errorf("the filler's extents hold %d blocks, want %d:\n%s", total, want, lastLines(table, 10))
	}
	return f.Close()
}

// fieldInt reads the number after label in "label value" lines.
func fieldInt(text, label string) int64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, label); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			return n
		}
	}
	return 0
}
