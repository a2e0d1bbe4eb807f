// Package helperbin decides whether a bangerd binary may be run as root
// through sudo. A sudoers rule names a path; whoever can change the file
// at that path, or any directory above it, can put their own program
// there and have sudo run it as root. So the binary and every directory
// on its path must be root's and writable by no group and no one else.
// It is a package of its own so that `banger doctor` can ask without
// linking banger's netlink and nftables code.
package helperbin

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrUnsafe marks an Unsafe error.
var ErrUnsafe = errors.New("unsafe for sudo")

// Unsafe says why a binary must not be run through sudo.
type Unsafe struct {
	Binary string // the binary asked about
	Path   string // the file or directory that others can change
	Reason string // "is owned by uid 1000", "is writable by group 27", ...
}

func (e *Unsafe) Error() string {
	what := e.Path
	if e.Path == e.Binary {
		what = "it"
	}
	return fmt.Sprintf("bangerd at %s is not safe to run as root: %s %s, so allowing it through sudo would hand out root; install it root-owned with `sudo make install` and run that one, or run bangerd as root",
		e.Binary, what, e.Reason)
}

func (e *Unsafe) Is(target error) bool { return target == ErrUnsafe }

// Check returns nil when the binary at path (absolute) may be run as root
// through sudo: it, the file a symbolic link leads to, and every
// directory above either are owned by root and writable by no group and
// no one else. Otherwise the error is an *Unsafe naming the first path
// at fault, or says why path could not be checked.
func Check(path string) error { return checkBelow(path, "/") }

// checkBelow is Check looking no higher than the directory top, so that
// tests can work in a temporary directory.
func checkBelow(path, top string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("bangerd path %q is not absolute, which sudo needs", path)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("checking bangerd at %s: %w", path, err)
	}
	for _, p := range []string{filepath.Clean(path), real} {
		for q := p; ; q = filepath.Dir(q) {
			if err := checkOne(path, q); err != nil {
				return err
			}
			if q == top || q == "/" {
				break
			}
		}
	}
	return nil
}

// checkOne checks one file or directory of binary's path. Symbolic links
// are skipped: their own mode means nothing, and what they lead to is
// checked on its own path.
func checkOne(binary, p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("checking bangerd at %s: %w", binary, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("checking bangerd at %s: no owner for %s", binary, p)
	}
	unsafe := func(format string, args ...any) error {
		return &Unsafe{Binary: binary, Path: p, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case st.Uid != 0:
		return unsafe("is writable by uid %d, its owner", st.Uid)
	case fi.Mode().Perm()&0o002 != 0:
		return unsafe("is writable by everyone")
	case fi.Mode().Perm()&0o020 != 0:
		return unsafe("is writable by group %d", st.Gid)
	}
	return nil
}
