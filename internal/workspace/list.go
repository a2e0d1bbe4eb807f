package workspace

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"banger/internal/errdefs"
)

// entry is one file, symlink or directory of a copy.
type entry struct {
	rel  string      // slash path inside the copy
	mode fs.FileMode // type and permission bits
	size int64       // a regular file's bytes, a symlink target's length
	link string      // a symlink's target (working tree only)
	host string      // the host file a regular file's content comes from
}

// gitlinkMode is the index and tree mode of a submodule.
const gitlinkMode = "160000"

// listWorktree lists what `git ls-files --cached --others
// --exclude-standard` names that exists in the working tree, with the
// working tree's modes and sizes. Tracked files that were deleted, and
// paths beyond a symlinked directory, are left out as git itself would.
func (c *Copy) listWorktree(ctx context.Context) error {
	g := git{dir: c.src.Top}
	staged, err := g.out(ctx, "ls-files", "-z", "--stage")
	if err != nil {
		return fmt.Errorf("listing the repository's files: %w", err)
	}
	c.index = staged
	others, err := g.out(ctx, "ls-files", "-z", "--others", "--exclude-standard")
	if err != nil {
		return fmt.Errorf("listing the repository's untracked files: %w", err)
	}
	gitlinks := map[string]bool{}
	var paths []string
	for _, rec := range splitZ(staged) {
		meta, p, ok := strings.Cut(rec, "\t")
		if !ok {
			continue
		}
		if strings.HasPrefix(meta, gitlinkMode+" ") {
			gitlinks[p] = true
		}
		paths = append(paths, p)
	}
	paths = append(paths, splitZ(others)...)
	slices.Sort(paths)
	paths = slices.Compact(paths) // a conflicted file is listed per stage
	w := &walker{top: c.src.Top, dirs: map[string]bool{"": true}}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		if gitlinks[p] {
			if err := c.addSubmodule(ctx, w, p, ""); err != nil {
				return err
			}
			continue
		}
		if err := c.addWorktreePath(w, p); err != nil {
			return err
		}
	}
	return nil
}

// walker remembers which of the host's directories were checked.
type walker struct {
	top  string
	dirs map[string]bool // rel -> a real directory (not a symlink)
}

// parentsOK adds rel's parent directories to c, reporting false when one
// of them is not a directory in the working tree (a symlink, or gone).
func (c *Copy) parentsOK(w *walker, rel string) (bool, error) {
	dir := path.Dir(rel)
	if dir == "." {
		return true, nil
	}
	if ok, seen := w.dirs[dir]; seen {
		return ok, nil
	}
	ok, err := c.parentsOK(w, dir)
	if err != nil || !ok {
		w.dirs[dir] = false
		return false, err
	}
	fi, err := os.Lstat(filepath.Join(w.top, filepath.FromSlash(dir)))
	switch {
	case err == nil && fi.IsDir():
		w.dirs[dir] = true
		c.entries = append(c.entries, entry{rel: dir, mode: fi.Mode()})
		return true, nil
	case err == nil, errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		w.dirs[dir] = false
		return false, nil
	}
	return false, unreadable(filepath.Join(w.top, dir), err)
}

func (c *Copy) addWorktreePath(w *walker, rel string) error {
	if strings.HasSuffix(rel, "/") {
		c.note("left out %s: a git repository inside the work tree that is not a submodule", rel)
		return nil
	}
	if ok, err := c.parentsOK(w, rel); err != nil || !ok {
		return err
	}
	host := filepath.Join(w.top, filepath.FromSlash(rel))
	fi, err := os.Lstat(host)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // deleted but still tracked
	case err != nil:
		return unreadable(host, err)
	}
	e := entry{rel: rel, mode: fi.Mode()}
	switch t := fi.Mode().Type(); t {
	case 0:
		f, err := os.Open(host)
		if err != nil {
			return unreadable(host, err)
		}
		f.Close()
		e.size, e.host = fi.Size(), host
	case fs.ModeSymlink:
		if e.link, err = os.Readlink(host); err != nil {
			return unreadable(host, err)
		}
		e.size = int64(len(e.link))
	case fs.ModeDir:
		c.note("left out %s: git lists a file there, but the working tree has a directory", rel)
		return nil
	default:
		c.note("left out %s: a special file (%s) cannot be copied", rel, t)
		return nil
	}
	c.entries = append(c.entries, e)
	return nil
}

func unreadable(p string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return errdefs.InvalidArgument("cannot read %s: permission denied: make it readable (chmod u+r), or remove it from the repository (untracked files: list them in .gitignore)", p)
	}
	return fmt.Errorf("reading %s: %w", p, err)
}

// listCommit lists the tree of c.src.Commit.
func (c *Copy) listCommit(ctx context.Context) error {
	g := git{dir: c.src.Top}
	out, err := g.out(ctx, "ls-tree", "-r", "-t", "-l", "-z", "--full-tree", c.src.Commit)
	if err != nil {
		return fmt.Errorf("listing %s: %w", c.src.From, err)
	}
	for _, rec := range splitZ(out) {
		meta, p, ok := strings.Cut(rec, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 4 {
			continue
		}
		size, _ := strconv.ParseInt(f[3], 10, 64)
		switch f[0] {
		case "040000":
			c.entries = append(c.entries, entry{rel: p, mode: fs.ModeDir | 0o755})
		case "100755":
			c.entries = append(c.entries, entry{rel: p, mode: 0o755, size: size})
		case "120000":
			c.entries = append(c.entries, entry{rel: p, mode: fs.ModeSymlink | 0o777, size: size})
		case gitlinkMode:
			if err := c.addSubmodule(ctx, nil, p, f[2]); err != nil {
				return err
			}
		default:
			c.entries = append(c.entries, entry{rel: p, mode: 0o644, size: size})
		}
	}
	return nil
}

// addSubmodule adds the submodule at rel: a copy of its own when it is
// initialised on the host (and, for a commit, holds that commit), else an
// empty directory, as git leaves it.
func (c *Copy) addSubmodule(ctx context.Context, w *walker, rel, commit string) error {
	if w != nil {
		if ok, err := c.parentsOK(w, rel); err != nil || !ok {
			return err
		}
	}
	c.entries = append(c.entries, entry{rel: rel, mode: fs.ModeDir | 0o755})
	host := filepath.Join(c.src.Top, filepath.FromSlash(rel))
	if _, err := os.Lstat(filepath.Join(host, ".git")); err != nil {
		if commit != "" {
			c.note("left %s empty: the submodule is not initialised here (`git submodule update --init` fills it)", rel)
		}
		return nil
	}
	sub := Source{Top: host, Name: path.Base(rel)}
	if commit != "" {
		if ok, _ := (git{dir: host}).ok(ctx, "cat-file", "-e", commit+"^{commit}"); !ok {
			c.note("left %s empty: its commit %.12s is not in the submodule's repository here (fetch it there first)", rel, commit)
			return nil
		}
		sub.Commit, sub.From = commit, commit
	}
	s, err := plan(ctx, sub)
	if err != nil {
		return fmt.Errorf("submodule %s: %w", rel, err)
	}
	s.rel = rel
	c.subs = append(c.subs, s)
	for _, n := range s.notes {
		c.notes = append(c.notes, rel+": "+n)
	}
	return nil
}
