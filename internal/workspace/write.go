package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Write lays the copy out in dir, which exists and is empty: first a
// local clone of the repository as dir/.git (its objects hard-linked
// where the filesystem allows, as git does), on the branch or commit the
// copy is of, then the files. Working-tree files are copied, never
// hard-linked: a link would change every file's ctime in the user's
// tree, which makes git read them all again and file watchers fire.
func (c *Copy) Write(ctx context.Context, dir string) error {
	if err := c.cloneInto(ctx, dir); err != nil {
		return fmt.Errorf("copying the repository's history: %w", err)
	}
	if c.src.Commit != "" {
		if err := c.checkout(ctx, dir); err != nil {
			return err
		}
	} else {
		if err := c.writeIndex(ctx, dir); err != nil {
			return err
		}
		if err := c.writeFiles(ctx, dir); err != nil {
			return err
		}
	}
	for _, s := range c.subs {
		sub := filepath.Join(dir, filepath.FromSlash(s.rel))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		if err := s.Write(ctx, sub); err != nil {
			return fmt.Errorf("submodule %s: %w", s.rel, err)
		}
	}
	if c.src.Commit == "" {
		return c.setDirModes(dir)
	}
	return nil
}

// checkout writes the files of the copy's HEAD, as `git checkout` does.
func (c *Copy) checkout(ctx context.Context, dir string) error {
	if _, err := (git{dir: dir}).out(ctx, "read-tree", "--reset", "-u", "HEAD"); err != nil {
		return fmt.Errorf("writing the files of %s: %w", c.src.From, err)
	}
	return nil
}

// writeIndex gives the copy the host's index: what is staged there is
// staged in the guest (its blobs came with the clone, which takes every
// object). The host's index file is copied as it is (with its cached
// trees, which make commits quick) when the copy's git reads it back the
// same; otherwise its entries are copied. Either way the guest's git
// finds the files' inode numbers changed and reads each file once, on
// the first `git status`.
func (c *Copy) writeIndex(ctx context.Context, dir string) error {
	if len(c.index) == 0 || c.copyHostIndex(ctx, dir) {
		return nil
	}
	if _, err := (git{dir: dir}).in(ctx, bytes.NewReader(c.index), "update-index", "-z", "--index-info"); err != nil {
		return fmt.Errorf("copying the index: %w", err)
	}
	return nil
}

func (c *Copy) copyHostIndex(ctx context.Context, dir string) bool {
	src, err := (git{dir: c.src.Top}).path(ctx, "rev-parse", "--git-path", "index")
	if err != nil {
		return false
	}
	if !filepath.IsAbs(src) {
		src = filepath.Join(c.src.Top, src)
	}
	dst := filepath.Join(dir, ".git", "index")
	if err := copyFile(src, dst); err != nil {
		os.Remove(dst)
		return false
	}
	got, err := (git{dir: dir}).out(ctx, "ls-files", "-z", "--stage")
	if err != nil || !bytes.Equal(got, c.index) {
		os.Remove(dst)
		return false
	}
	return true
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// writeFiles puts the working tree's entries into dir; directories get
// their modes later, so that a read-only one can still be filled.
func (c *Copy) writeFiles(ctx context.Context, dir string) error {
	for _, e := range c.entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(e.rel))
		var err error
		switch {
		case e.mode.IsDir():
			err = os.Mkdir(dst, 0o700)
			if errors.Is(err, fs.ErrExist) {
				err = nil
			}
		case e.mode&fs.ModeSymlink != 0:
			err = os.Symlink(e.link, dst)
		default:
			err = copyEntry(e.host, dst, e.mode)
		}
		if err != nil {
			return fmt.Errorf("copying %s: %w", e.rel, err)
		}
	}
	return nil
}

// setDirModes gives the copy's directories, top included, the working
// tree's modes, deepest first.
func (c *Copy) setDirModes(dir string) error {
	dirs := []entry{}
	for _, e := range c.entries {
		if e.mode.IsDir() {
			dirs = append(dirs, e)
		}
	}
	slices.SortFunc(dirs, func(a, b entry) int { return len(b.rel) - len(a.rel) })
	for _, e := range dirs {
		if err := os.Chmod(filepath.Join(dir, filepath.FromSlash(e.rel)), perm(e.mode)); err != nil {
			return err
		}
	}
	fi, err := os.Stat(c.src.Top)
	if err != nil {
		return unreadable(c.src.Top, err)
	}
	return os.Chmod(dir, perm(fi.Mode()))
}

func perm(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// copyEntry copies src to a new file dst with mode, keeping src's
// modification time. io.Copy uses copy_file_range, which shares blocks
// where the filesystem can (btrfs, xfs).
func copyEntry(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return unreadable(src, err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(perm(mode)); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}
