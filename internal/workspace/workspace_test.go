package workspace

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"banger/internal/errdefs"
)

func requireGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
}

// run runs git in dir as a test author and returns its output.
func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(gitEnv(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_ALLOW_PROTOCOL=file")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func write(t *testing.T, p, data string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// Odd names a copy must carry byte for byte.
const (
	spaced  = "with space.txt"
	newline = "new\nline.txt"
	latin1  = "caf\xe9.txt" // not UTF-8
)

// testRepo makes a repository with two commits and a working tree that
// differs from the last one in every way the copy cares about, plus an
// initialised submodule.
func testRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	lib := filepath.Join(root, "lib")
	run(t, root, "init", "-q", "-b", "main", lib)
	write(t, filepath.Join(lib, "lib.txt"), "library\n", 0o644)
	run(t, lib, "add", "-A")
	run(t, lib, "commit", "-qm", "lib")

	repo := filepath.Join(root, "my repo")
	run(t, root, "init", "-q", "-b", "main", repo)
	write(t, filepath.Join(repo, "README"), "old readme\n", 0o644)
	write(t, filepath.Join(repo, "gone.txt"), "soon deleted\n", 0o644)
	run(t, repo, "add", "-A")
	run(t, repo, "commit", "-qm", "first")
	run(t, repo, "tag", "v1")

	write(t, filepath.Join(repo, "README"), "new readme\n", 0o644)
	write(t, filepath.Join(repo, "bin/run.sh"), "#!/bin/sh\necho run\n", 0o755)
	write(t, filepath.Join(repo, ".gitignore"), "node_modules/\n*.log\n", 0o644)
	write(t, filepath.Join(repo, spaced), "spaced\n", 0o644)
	write(t, filepath.Join(repo, newline), "newline\n", 0o644)
	write(t, filepath.Join(repo, latin1), "latin1\n", 0o600)
	must(t, os.Symlink("README", filepath.Join(repo, "inside-link")))
	must(t, os.Symlink("/etc/hostname", filepath.Join(repo, "outside-link")))
	must(t, os.Symlink("../../outside", filepath.Join(repo, "bin/up-link")))
	run(t, repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", "../lib", "vendor/lib")
	run(t, repo, "add", "-A")
	run(t, repo, "commit", "-qm", "second")

	// The working tree now differs from the commit.
	write(t, filepath.Join(repo, "README"), "edited readme\n", 0o644) // modified
	must(t, os.Remove(filepath.Join(repo, "gone.txt")))               // deleted, still tracked
	write(t, filepath.Join(repo, "untracked.txt"), "untracked\n", 0o640)
	write(t, filepath.Join(repo, "staged.txt"), "staged\n", 0o644)
	run(t, repo, "add", "staged.txt")
	write(t, filepath.Join(repo, "node_modules/dep/index.js"), "ignored\n", 0o644)
	write(t, filepath.Join(repo, "debug.log"), "ignored\n", 0o644)
	write(t, filepath.Join(repo, "vendor/lib/local.txt"), "untracked in submodule\n", 0o644)
	return repo
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeCopy resolves, plans and writes a copy of o into a new directory.
func writeCopy(t *testing.T, o Options) (string, *Copy) {
	t.Helper()
	ctx := context.Background()
	s, err := Resolve(ctx, o)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	c, err := Plan(ctx, s)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	dir := filepath.Join(t.TempDir(), s.Name)
	must(t, os.Mkdir(dir, 0o755))
	if err := c.Write(ctx, dir); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return dir, c
}

// tree lists dir's files (not .git) as "path mode [-> target]".
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil || rel == "." || d.IsDir() {
			return err
		}
		line := rel + " " + fi.Mode().String()
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			line += " -> " + target
		}
		out = append(out, line)
		return nil
	})
	must(t, err)
	slices.Sort(out)
	return out
}

func TestCopyWorkingTree(t *testing.T) {
	requireGit(t)
	repo := testRepo(t)
	dir, c := writeCopy(t, Options{Path: filepath.Join(repo, "bin")})
	if s := c.Source(); s.Name != "my repo" || s.Sub != "bin" || s.GuestCwd() != "/root/my repo/bin" {
		t.Errorf("source = %+v", s)
	}
	want := []string{
		".gitignore -rw-r--r--",
		".gitmodules -rw-r--r--",
		"README -rw-r--r--",
		"bin/run.sh -rwxr-xr-x",
		"bin/up-link Lrwxrwxrwx -> ../../outside",
		latin1 + " -rw-------",
		"inside-link Lrwxrwxrwx -> README",
		newline + " -rw-r--r--",
		"outside-link Lrwxrwxrwx -> /etc/hostname",
		"staged.txt -rw-r--r--",
		"untracked.txt -rw-r-----",
		"vendor/lib/lib.txt -rw-r--r--",
		"vendor/lib/local.txt -rw-r--r--",
		spaced + " -rw-r--r--",
	}
	slices.Sort(want)
	if got := tree(t, dir); !slices.Equal(got, want) {
		t.Errorf("copied files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if files, _, history := c.Count(); files != len(want) || history == 0 {
		t.Errorf("Count = %d files, %d bytes of history; want %d files and some history", files, history, len(want))
	}
	// The user's files are read, never linked: their ctimes stay.
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(repo, "README"), &st); err != nil || st.Nlink != 1 {
		t.Errorf("the repository's README has %d links after the copy (%v), want 1", st.Nlink, err)
	}
	for rel, content := range map[string]string{"README": "edited readme\n", newline: "newline\n", latin1: "latin1\n"} {
		if b, err := os.ReadFile(filepath.Join(dir, rel)); err != nil || string(b) != content {
			t.Errorf("%q = %q, %v; want %q", rel, b, err, content)
		}
	}
	// The copy is a repository in the host's state: same branch, same
	// history, the same changes staged and unstaged.
	if got := run(t, dir, "symbolic-ref", "HEAD"); got != "refs/heads/main\n" {
		t.Errorf("HEAD = %q", got)
	}
	if got, want := run(t, dir, "log", "--format=%s"), "second\nfirst\n"; got != want {
		t.Errorf("git log = %q, want %q", got, want)
	}
	status := func(d string) string {
		return run(t, d, "status", "--porcelain", "--untracked-files=all", "--ignore-submodules=none")
	}
	if got, want := status(dir), status(repo); got != want {
		t.Errorf("git status in the copy:\n%s\nin the repository:\n%s", got, want)
	}
	if got := run(t, filepath.Join(dir, "vendor/lib"), "log", "--format=%s"); got != "lib\n" {
		t.Errorf("submodule history = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", "objects", "info", "alternates")); err == nil {
		t.Error("the copy borrows objects from the host")
	}
	if got := run(t, dir, "remote"); got != "" {
		t.Errorf("remotes = %q, want none (the repository has none)", got)
	}
}

func TestCopyFromCommitOnNewBranch(t *testing.T) {
	requireGit(t)
	repo := testRepo(t)
	dir, _ := writeCopy(t, Options{Path: repo, From: "v1", Branch: "try-it"})
	want := []string{"README -rw-r--r--", "gone.txt -rw-r--r--"}
	if got := tree(t, dir); !slices.Equal(got, want) {
		t.Errorf("files of v1: %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "README")); string(b) != "old readme\n" {
		t.Errorf("README at v1 = %q", b)
	}
	if got := run(t, dir, "symbolic-ref", "HEAD"); got != "refs/heads/try-it\n" {
		t.Errorf("HEAD = %q, want the new branch", got)
	}
	if got := run(t, dir, "status", "--porcelain"); got != "" {
		t.Errorf("a copy of a commit has changes:\n%s", got)
	}
	if got := run(t, dir, "branch", "--format=%(refname:short)"); got != "main\ntry-it\n" {
		t.Errorf("branches = %q", got)
	}
}

func TestCopyFromBranchWithSubmodule(t *testing.T) {
	requireGit(t)
	repo := testRepo(t)
	dir, c := writeCopy(t, Options{Path: repo, From: "main"})
	if got := run(t, dir, "symbolic-ref", "HEAD"); got != "refs/heads/main\n" {
		t.Errorf("HEAD = %q, want main", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "vendor/lib/lib.txt")); string(b) != "library\n" {
		t.Errorf("submodule at the commit: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "vendor/lib/local.txt")); err == nil {
		t.Error("an untracked file of the working tree is in a copy of a commit")
	}
	if _, err := os.Lstat(filepath.Join(dir, "staged.txt")); err == nil {
		t.Error("a staged file is in a copy of a commit")
	}
	if n := c.Notes(); len(n) != 0 {
		t.Errorf("notes = %q", n)
	}
}

func TestResolveRefuses(t *testing.T) {
	requireGit(t)
	repo := testRepo(t)
	plain := t.TempDir()
	tests := []struct {
		name  string
		o     Options
		wants []string
	}{
		{"missing", Options{Path: filepath.Join(plain, "nope")}, []string{"does not exist"}},
		{"a file", Options{Path: filepath.Join(repo, "README")}, []string{"is a file"}},
		{"not git", Options{Path: plain}, []string{"not inside a git work tree", "git init", "bare sandbox"}},
		{"bad from", Options{Path: repo, From: "no-such-ref"}, []string{"--from", "no-such-ref"}},
		{"option from", Options{Path: repo, From: "--all"}, []string{"--from"}},
		{"bad branch", Options{Path: repo, Branch: "a..b"}, []string{"--branch", "not a valid branch name"}},
		{"existing branch", Options{Path: repo, Branch: "main"}, []string{"already has that branch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve(context.Background(), tt.o)
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("Resolve = %v, want an invalid argument", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestPlanRefusesUnreadableFile(t *testing.T) {
	requireGit(t)
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	repo := testRepo(t)
	write(t, filepath.Join(repo, "secret.txt"), "x", 0o000)
	s, err := Resolve(context.Background(), Options{Path: repo})
	must(t, err)
	_, err = Plan(context.Background(), s)
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "secret.txt") || !strings.Contains(err.Error(), "chmod") {
		t.Errorf("Plan with an unreadable file = %v", err)
	}
}

func TestEntriesCountWhatIsWritten(t *testing.T) {
	requireGit(t)
	repo := testRepo(t)
	dir, c := writeCopy(t, Options{Path: repo})
	var written int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			fi, _ := d.Info()
			written += fi.Size()
		}
		return err
	})
	must(t, err)
	var listed int64
	for _, e := range c.Entries() {
		if e.Mode.IsRegular() {
			listed += e.Size
		}
	}
	if listed < written {
		t.Errorf("entries list %d bytes, the copy holds %d", listed, written)
	}
}

func TestResolveOtherUsersRepository(t *testing.T) {
	requireGit(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the repository to another user")
	}
	t.Setenv("SUDO_UID", "")
	repo := filepath.Join(t.TempDir(), "theirs")
	run(t, filepath.Dir(repo), "init", "-q", repo)
	must(t, filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 65534, 65534)
	}))
	_, err := Resolve(context.Background(), Options{Path: repo})
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "safe.directory") {
		t.Errorf("Resolve of another user's repository = %v", err)
	}
}
