package workspace

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"

	"banger/internal/vmdisk"
)

// Copy is a workspace listed and ready to be laid out on a work disk.
// It is a vmdisk.Tree.
type Copy struct {
	src     Source
	rel     string  // a submodule's path in its parent; "" at the top
	entries []entry // what the working tree or commit holds
	index   []byte  // `git ls-files --stage -z` of the working tree
	gitDir  string  // the host repository's common git directory
	gitSize []entry // what the copy's .git is expected to hold
	subs    []*Copy // initialised submodules
	notes   []string
}

var _ vmdisk.Tree = (*Copy)(nil)

// Plan lists what the copy of s holds, checking that all of it can be
// read, without writing anything.
func Plan(ctx context.Context, s Source) (*Copy, error) {
	return plan(ctx, s)
}

func plan(ctx context.Context, s Source) (*Copy, error) {
	c := &Copy{src: s}
	g := git{dir: s.Top}
	dir, err := g.path(ctx, "rev-parse", "--git-common-dir")
	if err != nil {
		return nil, fmt.Errorf("finding the repository's git directory: %w", err)
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(s.Top, dir)
	}
	c.gitDir = dir
	if s.Commit == "" {
		err = c.listWorktree(ctx)
	} else {
		err = c.listCommit(ctx)
	}
	if err != nil {
		return nil, err
	}
	if c.gitSize, err = gitDirEntries(dir); err != nil {
		return nil, err
	}
	c.gitSize = append(c.gitSize, entry{rel: "index", mode: 0o644, size: c.indexSize()})
	return c, nil
}

// Source is what the copy was made from.
func (c *Copy) Source() Source { return c.src }

// Dir is the copy's name under /root.
func (c *Copy) Dir() string { return c.src.Name }

// Notes says what was left out, one line each.
func (c *Copy) Notes() []string { return c.notes }

func (c *Copy) note(format string, args ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

// Count is the number of files and symlinks copied (submodules
// included), their bytes, and the bytes of the history that comes with
// them.
func (c *Copy) Count() (files int, bytes, history int64) {
	for _, e := range c.entries {
		if !e.mode.IsDir() {
			files++
			if e.mode.IsRegular() {
				bytes += e.size
			}
		}
	}
	for _, e := range c.gitSize {
		history += e.size
	}
	for _, s := range c.subs {
		f, b, h := s.Count()
		files, bytes, history = files+f, bytes+b, history+h
	}
	return files, bytes, history
}

// Entries lists everything the copy writes, for the disk's size check.
func (c *Copy) Entries() []vmdisk.TreeEntry { return c.all("") }

func (c *Copy) all(prefix string) []vmdisk.TreeEntry {
	var out []vmdisk.TreeEntry
	add := func(es []entry, under string) {
		for _, e := range es {
			out = append(out, vmdisk.TreeEntry{Rel: path.Join(prefix, under, e.rel), Mode: e.mode, Size: e.size, Link: e.link})
		}
	}
	add(c.entries, "")
	add(c.gitSize, ".git")
	for i := 0; i < gitFiles; i++ {
		out = append(out, vmdisk.TreeEntry{Rel: path.Join(prefix, ".git", fmt.Sprintf("allowance-%d", i)), Mode: 0o644, Size: gitFileSize})
	}
	for _, s := range c.subs {
		out = append(out, s.all(path.Join(prefix, s.rel))...)
	}
	return out
}

// gitFiles is an allowance for what a new .git holds besides objects:
// config, HEAD, refs, the sample hooks, the index (counted apart).
const gitFiles, gitFileSize = 48, 4096

// gitDirEntries estimates the copy's .git from the host's: a local clone
// takes every object file as it is.
func gitDirEntries(gitDir string) ([]entry, error) {
	var es []entry
	objects := filepath.Join(gitDir, "objects")
	err := filepath.WalkDir(objects, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return unreadable(p, err)
		}
		fi, err := d.Info()
		if err != nil {
			return unreadable(p, err)
		}
		rel, _ := filepath.Rel(gitDir, p)
		es = append(es, entry{rel: filepath.ToSlash(rel), mode: fi.Mode(), size: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return es, nil
}

// indexSize estimates the copy's index: a header, and per path 62
// bytes, the path and padding.
func (c *Copy) indexSize() int64 {
	n := int64(12)
	for _, e := range c.entries {
		if !e.mode.IsDir() {
			n += 72 + int64(len(e.rel))
		}
	}
	return n
}
