package workspace

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// export runs the three parts of an export in a copy, as the guest
// would, and assembles the patch.
func export(t *testing.T, dir string) (base string, patch []byte) {
	t.Helper()
	part := func(name string) []byte {
		argv := ExportCommand(name)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir, cmd.Env = dir, gitEnv()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("export %s: %v: %s", name, err, stderr.String())
		}
		return out
	}
	base = strings.TrimSpace(string(part("base")))
	return base, Patch(part("commits"), part("diff"), "box", "Tester <t@example.org>", time.Unix(0, 0))
}

// gitState is what an export must not change in a repository.
func gitState(t *testing.T, dir string) string {
	t.Helper()
	index, err := os.ReadFile(filepath.Join(dir, ".git", "index"))
	if err != nil {
		t.Fatal(err)
	}
	return run(t, dir, "for-each-ref") + run(t, dir, "rev-parse", "HEAD") + string(index) +
		run(t, dir, "status", "--porcelain", "--untracked-files=all")
}

// A commit, an edit, a new file and a binary file made in a copy come
// back as a patch that git am and git apply take on a checkout of the
// commit the copy was made at, and the copy's git state stays as it was.
func TestExportAppliesOnTheHost(t *testing.T) {
	requireGit(t)
	repo := filepath.Join(t.TempDir(), "repo")
	run(t, filepath.Dir(repo), "init", "-q", "-b", "main", repo)
	write(t, filepath.Join(repo, "a.txt"), "one\n", 0o644)
	write(t, filepath.Join(repo, "b.txt"), "bee\n", 0o644)
	run(t, repo, "add", "-A")
	run(t, repo, "commit", "-qm", "first")
	host := strings.TrimSpace(run(t, repo, "rev-parse", "HEAD"))

	dir, _ := writeCopy(t, Options{Path: repo})
	write(t, filepath.Join(dir, "a.txt"), "one\ntwo\n", 0o644)
	run(t, dir, "commit", "-qam", "add two")
	write(t, filepath.Join(dir, "a.txt"), "one\ntwo\nthree\n", 0o644)
	write(t, filepath.Join(dir, "new.sh"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(dir, "blob.bin"), "\x00\x01\x02binary", 0o644)
	must(t, os.Remove(filepath.Join(dir, "b.txt")))
	before := gitState(t, dir)

	base, patch := export(t, dir)
	if base != host {
		t.Errorf("base = %q, want the host's HEAD %s", base, host)
	}
	if after := gitState(t, dir); after != before {
		t.Errorf("the export changed the copy's git state:\n%s\nwas:\n%s", after, before)
	}
	file := filepath.Join(t.TempDir(), "ws.patch")
	must(t, os.WriteFile(file, patch, 0o644))
	for _, apply := range [][]string{{"am", "-q", file}, {"apply", file}} {
		clone := filepath.Join(t.TempDir(), "clone")
		run(t, filepath.Dir(clone), "clone", "-q", repo, clone)
		run(t, clone, apply...)
		for rel, want := range map[string]string{"a.txt": "one\ntwo\nthree\n", "new.sh": "#!/bin/sh\n", "blob.bin": "\x00\x01\x02binary"} {
			if got, err := os.ReadFile(filepath.Join(clone, rel)); err != nil || string(got) != want {
				t.Errorf("git %s: %s = %q (%v), want %q", apply[0], rel, got, err, want)
			}
		}
		if _, err := os.Stat(filepath.Join(clone, "b.txt")); err == nil {
			t.Errorf("git %s: b.txt is still there", apply[0])
		}
		if fi, err := os.Stat(filepath.Join(clone, "new.sh")); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("git %s: new.sh: %v %v, want mode 755", apply[0], fi, err)
		}
		if apply[0] == "am" {
			if got, want := run(t, clone, "log", "--format=%s|%an"), "Uncommitted changes in VM box|Tester\nadd two|t\nfirst|t\n"; got != want {
				t.Errorf("git log after git am = %q, want %q", got, want)
			}
		}
	}
}

func TestExportOfNothingIsEmpty(t *testing.T) {
	requireGit(t)
	repo := filepath.Join(t.TempDir(), "repo")
	run(t, filepath.Dir(repo), "init", "-q", "-b", "main", repo)
	write(t, filepath.Join(repo, "a.txt"), "one\n", 0o644)
	run(t, repo, "add", "-A")
	run(t, repo, "commit", "-qm", "first")
	dir, _ := writeCopy(t, Options{Path: repo})
	if _, patch := export(t, dir); len(patch) != 0 {
		t.Errorf("an unchanged copy exports %q", patch)
	}
}

func TestExportWithoutBaseSaysSo(t *testing.T) {
	requireGit(t)
	dir := filepath.Join(t.TempDir(), "repo")
	run(t, filepath.Dir(dir), "init", "-q", dir)
	argv := ExportCommand("commits")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, gitEnv()
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != ExportStatusNoBase || !strings.Contains(string(out), BaseRef) {
		t.Errorf("export of a repository without %s: %v: %s", BaseRef, err, out)
	}
}

func TestHostAuthorFallsBack(t *testing.T) {
	if got := encodeAuthor("Zoë <z@example.org>"); got != "=?utf-8?q?Zo=C3=AB?= <z@example.org>" {
		t.Errorf("encodeAuthor = %q", got)
	}
	if got := encodeAuthor("x\n<y>"); got != DefaultAuthor {
		t.Errorf("encodeAuthor of a broken ident = %q", got)
	}
	_ = HostAuthor(context.Background(), t.TempDir())
}
