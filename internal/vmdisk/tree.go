package vmdisk

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strings"

	"banger/internal/errdefs"
)

// Tree is a directory that another package lays out on the work disk,
// such as a copy of a git repository. It lists what it will write, so the
// disk's size is checked before anything is copied, and then writes it
// into the staging directory that mkfs.ext4 copies.
type Tree interface {
	// Dir is the tree's name directly under /root.
	Dir() string
	// Entries lists what Write makes, with paths relative to Dir;
	// directories that hold listed entries may be left out.
	Entries() []TreeEntry
	// Write lays the tree out in dir, which exists and is empty.
	Write(ctx context.Context, dir string) error
}

// TreeEntry is one file, directory or symlink of a Tree.
type TreeEntry struct {
	Rel  string      // slash path inside the tree
	Mode fs.FileMode // type and permission bits
	Size int64       // bytes of a regular file, or of a symlink's target
	Link string      // a symlink's target, when known
}

// addTrees checks that each tree has a name of its own under /root.
func (p *workPlan) addTrees(trees []Tree) error {
	for _, t := range trees {
		dir := t.Dir()
		switch {
		case dir == "" || dir == "." || dir == ".." || strings.ContainsAny(dir, "/\x00"):
			return errdefs.InvalidArgument("%q cannot name a directory under /root", dir)
		case dir == WorkMarker || dir == "lost+found":
			return errdefs.InvalidArgument("/root/%s is reserved on the work disk: rename the directory", dir)
		}
		for rel, it := range p.items {
			if rel == dir || strings.HasPrefix(rel, dir+"/") {
				return errdefs.InvalidArgument("cannot copy a directory to /root/%s: %s uses /root/%s; change the entry's guest path or rename the directory", dir, p.owner(it), rel)
			}
		}
		for _, other := range p.trees {
			if other.Dir() == dir {
				return errdefs.InvalidArgument("two directories would be copied to /root/%s", dir)
			}
		}
		p.trees = append(p.trees, t)
	}
	return nil
}

// withTrees is the plan's items together with every tree's entries, for
// counting the disk's use.
func (p *workPlan) withTrees() map[string]*item {
	if len(p.trees) == 0 {
		return p.items
	}
	all := maps.Clone(p.items)
	for _, t := range p.trees {
		all[t.Dir()] = &item{rel: t.Dir(), mode: fs.ModeDir | 0o755}
		for _, e := range t.Entries() {
			rel := path.Join(t.Dir(), e.Rel)
			all[rel] = &item{rel: rel, mode: e.Mode, size: e.Size, link: e.Link}
			for d := path.Dir(rel); d != t.Dir() && d != "."; d = path.Dir(d) {
				if all[d] != nil {
					break
				}
				all[d] = &item{rel: d, mode: fs.ModeDir | 0o755}
			}
		}
	}
	return all
}

// writeTrees lays each tree out in the staging directory.
func (p *workPlan) writeTrees(ctx context.Context, staging string) error {
	for _, t := range p.trees {
		dir := filepath.Join(staging, t.Dir())
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
		if err := t.Write(ctx, dir); err != nil {
			return fmt.Errorf("copying /root/%s: %w", t.Dir(), err)
		}
	}
	return nil
}

// removeStaging removes the staging tree, making its directories
// writable first when a read-only one (copied with its mode) is in the
// way, as it is for a daemon that is not root.
func removeStaging(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}
