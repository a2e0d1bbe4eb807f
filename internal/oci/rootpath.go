package oci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
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

// resolveIn resolves rel (relative to root) the way the guest will see it,
// with root as "/": symlinks are followed, absolute targets restart at root
// and ".." stops there, so the result never leaves root. Missing components
// are kept as they are. With followLast false the final component is not
// followed. The result is relative to root, "." for root itself.
func resolveIn(root, rel string, followLast bool) (string, error) {
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
		p := filepath.Join(root, filepath.Join(done...), c)
		fi, err := os.Lstat(p)
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
		target, err := os.Readlink(p)
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
// within root, and returns its resolved path relative to root.
func ensureDir(root, rel string, mode fs.FileMode) (string, error) {
	r, err := resolveIn(root, rel, true)
	if err != nil {
		return "", err
	}
	// r holds no symlinks among its existing components, so MkdirAll
	// cannot be led outside root.
	if err := os.MkdirAll(filepath.Join(root, r), mode); err != nil {
		return "", err
	}
	return r, nil
}

// clearPath removes whatever is at p so a new entry can take its place. An
// existing directory is kept when keepDir is set.
func clearPath(p string, keepDir bool) error {
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.IsDir() && keepDir:
		return nil
	case fi.IsDir():
		return os.RemoveAll(p)
	}
	return os.Remove(p)
}
