package oci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"banger/internal/errdefs"
)

// maxSymlinks bounds symlink hops while resolving one path, as the kernel
// does, so a loop ends in an error.
const maxSymlinks = 255

// cleanName turns a tar entry name into a clean path relative to the tree
// root ("." for the root). A leading "/" is dropped, as tar does; a name that
// climbs above the root is refused.
func cleanName(name string) (string, error) {
	n := path.Clean(strings.TrimLeft(name, "/"))
	if n == ".." || strings.HasPrefix(n, "../") {
		return "", errdefs.InvalidArgument("path %q escapes the root filesystem", name)
	}
	return n, nil
}

// resolveIn resolves rel the way the guest will see it, with root as "/":
// symlinks are followed, absolute targets restart at root and ".." stops
// there, so the result never leaves root. Missing components are kept as
// they are. With followLast false the final component is not followed. The
// result is relative to root, "." for root itself, and holds no symlink
// but, with followLast false, its last component.
func resolveIn(root *os.Root, rel string, followLast bool) (string, error) {
	var done []string
	todo := strings.Split(rel, "/")
	hops := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch {
		case c == "" || c == ".":
			continue
		case c == "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		case len(todo) == 0 && !followLast:
			done = append(done, c)
			continue
		}
		p := path.Join(path.Join(done...), c)
		fi, err := root.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Mode()&fs.ModeSymlink == 0) {
			done = append(done, c)
			continue
		}
		if err != nil {
			return "", err
		}
		if hops++; hops > maxSymlinks {
			return "", fmt.Errorf("resolving %s: too many levels of symbolic links", rel)
		}
		target, err := root.Readlink(p)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			done = done[:0]
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

// ensureDir makes directory rel exist inside root, following symlinks
// the way the guest will, and returns its resolved path relative to root.
func ensureDir(root *os.Root, rel string, mode fs.FileMode) (string, error) {
	r, err := resolveIn(root, rel, true)
	if err != nil {
		return "", err
	}
	if err := root.MkdirAll(r, mode); err != nil {
		return "", err
	}
	return r, nil
}

// clearPath removes whatever is at rel so a new entry can take its place,
// and reports whether it removed anything. An existing directory is kept
// when keepDir is set. A symlink at rel is removed, never followed.
func clearPath(root *os.Root, rel string, keepDir bool) (bool, error) {
	fi, err := root.Lstat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	case fi.IsDir() && keepDir:
		return false, nil
	case fi.IsDir():
		return true, root.RemoveAll(rel)
	}
	return true, root.Remove(rel)
}
