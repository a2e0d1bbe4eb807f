package workspace

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// cloneInto makes dir/.git a copy of the host repository: every branch,
// tag and remote-tracking ref as the host has them (a mirror clone, which
// on one filesystem hard-links the objects), the host's remotes and
// branch upstreams, and HEAD on the branch or commit the copy is of.
func (c *Copy) cloneInto(ctx context.Context, dir string) error {
	gitDir := filepath.Join(dir, ".git")
	if _, err := (git{dir: dir}).out(ctx, "clone", "--mirror", "--local", "--quiet", "--", c.src.Top, gitDir); err != nil {
		return err
	}
	g := git{dir: dir}
	steps := [][]string{
		{"--git-dir=" + gitDir, "config", "core.bare", "false"},
		{"config", "--remove-section", "remote.origin"},
	}
	for _, args := range steps {
		if _, err := g.out(ctx, args...); err != nil {
			return err
		}
	}
	if err := c.copyConfig(ctx, g); err != nil {
		return err
	}
	if err := dissociate(ctx, g, gitDir); err != nil {
		return err
	}
	if err := c.setHead(ctx, g); err != nil {
		return err
	}
	return markBase(ctx, g)
}

// BaseRef names, in a guest's copy, the commit the copy was made at:
// `banger vm workspace export` gives what changed since.
const BaseRef = "refs/banger/base"

// markBase points BaseRef at the copy's HEAD (and removes one the host's
// repository may have had, before the first commit).
func markBase(ctx context.Context, g git) error {
	head, _ := g.line(ctx, "rev-parse", "--quiet", "--verify", "HEAD^{commit}")
	args := []string{"update-ref", BaseRef, head}
	if head == "" {
		args = []string{"update-ref", "-d", BaseRef}
	}
	if _, err := g.out(ctx, args...); err != nil {
		return fmt.Errorf("marking the copy's base: %w", err)
	}
	return nil
}

// copyConfig copies the host repository's remotes, branch upstreams and
// submodule settings: the guest's copy pushes and pulls where the host's
// does.
func (c *Copy) copyConfig(ctx context.Context, g git) error {
	out, err := (git{dir: c.src.Top}).out(ctx, "config", "--local", "-z", "--get-regexp", `^(remote|branch|submodule)\.`)
	var ge *gitError
	if errors.As(err, &ge) && len(out) == 0 {
		return nil // git exits 1 when nothing matches
	}
	if err != nil {
		return err
	}
	for _, rec := range splitZ(out) {
		key, value, _ := strings.Cut(rec, "\n")
		if key == "" {
			continue
		}
		if _, err := g.out(ctx, "config", "--add", key, value); err != nil {
			return err
		}
	}
	return nil
}

// dissociate makes the copy independent of repositories the host's
// borrows objects from (alternates), which the guest cannot reach.
func dissociate(ctx context.Context, g git, gitDir string) error {
	alternates := filepath.Join(gitDir, "objects", "info", "alternates")
	if _, err := os.Stat(alternates); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := g.out(ctx, "repack", "-a", "-d", "-q"); err != nil {
		return fmt.Errorf("taking in borrowed objects: %w", err)
	}
	return os.Remove(alternates)
}

// setHead points the copy's HEAD at what it is a copy of: a new branch
// with --branch; else the branch --from names, or its commit, detached;
// else the host's own HEAD.
func (c *Copy) setHead(ctx context.Context, g git) error {
	host := git{dir: c.src.Top}
	commit, ref := c.src.Commit, ""
	switch {
	case commit != "" && c.src.Branch == "":
		if ok, _ := host.ok(ctx, "show-ref", "--verify", "--quiet", "refs/heads/"+c.src.From); ok {
			ref = "refs/heads/" + c.src.From
		}
	case commit == "":
		commit, _ = host.line(ctx, "rev-parse", "--quiet", "--verify", "HEAD") // "" before the first commit
		ref, _ = host.line(ctx, "symbolic-ref", "--quiet", "HEAD")             // "" when detached
	}
	if c.src.Branch != "" {
		ref = "refs/heads/" + c.src.Branch
		if commit != "" {
			if _, err := g.out(ctx, "update-ref", ref, commit); err != nil {
				return err
			}
		}
	}
	if ref != "" {
		_, err := g.out(ctx, "symbolic-ref", "HEAD", ref)
		return err
	}
	_, err := g.out(ctx, "update-ref", "--no-deref", "HEAD", commit)
	return err
}
