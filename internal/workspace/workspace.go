// Package workspace copies a git repository into a VM: what `git
// ls-files --cached --others --exclude-standard` lists, with the working
// tree's content (or a commit's, with --from), plus a real .git holding
// the repository's history, laid out on the VM's work disk under
// /root/NAME before the VM boots. See docs/adr/0008-workspace-copy.md.
package workspace

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"banger/internal/errdefs"
)

// GuestHome is where workspaces land in the guest.
const GuestHome = "/root"

// Options choose what a workspace copy holds.
type Options struct {
	Path   string // a directory in a git work tree
	From   string // a commit, tag or branch to copy instead of the working tree
	Branch string // a new branch the copy is on
}

// Source is a resolved workspace: a repository and what to take from it.
type Source struct {
	Top    string // the work tree's top directory on the host
	Name   string // the copy's directory under /root
	Sub    string // Path below Top, slash-separated; "" at the top
	From   string // as given
	Commit string // From as a commit id; "" for the working tree
	Branch string // as given
}

// GuestDir is the copy's top in the guest.
func (s Source) GuestDir() string { return GuestHome + "/" + s.Name }

// GuestCwd is the guest directory matching the host path the user gave.
func (s Source) GuestCwd() string {
	if s.Sub == "" {
		return s.GuestDir()
	}
	return s.GuestDir() + "/" + s.Sub
}

// Resolve checks o against the repository it names and fills in a
// Source. Every mistake a user can make here gets an error that says
// how to fix it.
func Resolve(ctx context.Context, o Options) (Source, error) {
	abs, err := checkDir(o.Path)
	if err != nil {
		return Source{}, err
	}
	g := git{dir: abs}
	if _, err := lookGit(); err != nil {
		return Source{}, err
	}
	inside, err := g.line(ctx, "rev-parse", "--is-inside-work-tree")
	if refused(err) {
		return Source{}, errdefs.FailedPrecondition("git refuses %s: the repository belongs to another user than the one banger runs as (uid %d). Run banger as the repository's owner, or trust it with `git config --global --add safe.directory DIR`", o.Path, os.Getuid())
	}
	if inside != "true" {
		return Source{}, errdefs.InvalidArgument("%s is not inside a git work tree: workspace mode copies what git tracks (plus untracked files it does not ignore). Run `git init` there first, or leave out PATH for a bare sandbox", o.Path)
	}
	top, err := g.path(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return Source{}, fmt.Errorf("finding the repository of %s: %w", o.Path, err)
	}
	s := Source{Top: top, Name: filepath.Base(top), From: o.From, Branch: o.Branch}
	if err := s.checkName(); err != nil {
		return Source{}, err
	}
	if sub, err := subPath(top, abs); err == nil {
		s.Sub = sub
	}
	g.dir = top
	if o.From != "" {
		if s.Commit, err = resolveCommit(ctx, g, o.From); err != nil {
			return Source{}, err
		}
	}
	if o.Branch != "" {
		if err := checkNewBranch(ctx, g, o.Branch); err != nil {
			return Source{}, err
		}
	}
	return s, nil
}

// checkDir makes path absolute and checks that it is a directory.
func checkDir(path string) (string, error) {
	if path == "" {
		return "", errdefs.InvalidArgument("no workspace path given")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", path, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", errdefs.InvalidArgument("%s does not exist: give the path of a git repository (or a directory in one); a command to run goes after --", path)
	case err != nil:
		return "", errdefs.InvalidArgument("cannot read %s: %v", path, err)
	case !fi.IsDir():
		return "", errdefs.InvalidArgument("%s is a file: give the directory of a git repository", path)
	}
	if !utf8.ValidString(abs) {
		return "", errdefs.InvalidArgument("the path %q is not valid UTF-8, which banger's API cannot carry: move or rename the repository", abs)
	}
	return abs, nil
}

func (s Source) checkName() error {
	switch s.Name {
	case "", ".", "..", "/", ".banger-work", "lost+found":
		return errdefs.InvalidArgument("a repository at %s would be copied to /root/%s, which banger needs for itself: move it to a directory with another name", s.Top, s.Name)
	}
	if strings.ContainsAny(s.Name, "\x00\n") {
		return errdefs.InvalidArgument("the repository's directory name %q holds a newline: rename it", s.Name)
	}
	return nil
}

// subPath is dir relative to top, with symlinks resolved on both sides.
func subPath(top, dir string) (string, error) {
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	realTop, err := filepath.EvalSymlinks(top)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(realTop, realDir)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", errors.New("outside")
	}
	return filepath.ToSlash(rel), nil
}

func resolveCommit(ctx context.Context, g git, ref string) (string, error) {
	if strings.HasPrefix(ref, "-") {
		return "", errdefs.InvalidArgument("--from %q: a commit, tag or branch cannot start with '-'", ref)
	}
	id, err := g.line(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil || id == "" {
		return "", errdefs.InvalidArgument("--from %q: no such commit, tag or branch in %s (see `git log --oneline` and `git branch -a` there)", ref, g.dir)
	}
	return id, nil
}

func checkNewBranch(ctx context.Context, g git, name string) error {
	if ok, _ := g.ok(ctx, "check-ref-format", "--branch", name); !ok || strings.HasPrefix(name, "-") {
		return errdefs.InvalidArgument("--branch %q is not a valid branch name (see `git check-ref-format --help`)", name)
	}
	if ok, _ := g.ok(ctx, "show-ref", "--verify", "--quiet", "refs/heads/"+name); ok {
		return errdefs.InvalidArgument("--branch %q: the repository already has that branch, and the copy is put on a new one: pick another name, or use --from %s to copy that branch", name, name)
	}
	return nil
}
