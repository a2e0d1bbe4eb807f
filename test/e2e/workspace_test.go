package e2e

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Names a copy must carry byte for byte.
const (
	spacedName  = "with space.txt"
	newlineName = "new\nline.txt"
	latin1Name  = "caf\xe9.txt" // not UTF-8
)

// wsFile is what the test expects at one path of the guest's copy.
type wsFile struct {
	mode fs.FileMode // permission bits, or fs.ModeSymlink
	link string      // a symlink's target
}

// workspaceRepo makes a repository whose working tree differs from its
// last commit in every way workspace mode cares about, and returns it
// with the files the guest must get (content: the host file's).
func workspaceRepo(t *testing.T) (string, map[string]wsFile) {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.org",
			"GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.org", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	put := func(rel, content string, mode fs.FileMode) {
		t.Helper()
		writeFile(t, filepath.Join(repo, rel), content)
		if err := os.Chmod(filepath.Join(repo, rel), mode); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, rel string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(repo, rel)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	git("init", "-q", "-b", "main")
	put("README", "v1\n", 0o644)
	put("gone.txt", "tracked, then deleted\n", 0o644)
	put("src/main.go", "package main\n", 0o644)
	git("add", "-A")
	git("commit", "-qm", "first")
	git("tag", "v1")

	put("README", "v2\n", 0o644)
	put("bin/run.sh", "#!/bin/sh\necho run\n", 0o755)
	put(".gitignore", "node_modules/\n*.log\n", 0o644)
	put(".mise.toml", "[env]\nBANGER_E2E = \"1\"\n", 0o644)
	put(spacedName, "spaced\n", 0o644)
	put(newlineName, "newline\n", 0o644)
	put(latin1Name, "latin1\n", 0o600)
	link("README", "inside-link")
	link("/etc/hostname", "outside-link")
	link("../../outside-the-repo", "bin/up-link")
	git("add", "-A")
	git("commit", "-qm", "second")

	put("README", "v2, edited\n", 0o644) // modified, not committed
	if err := os.Remove(filepath.Join(repo, "gone.txt")); err != nil {
		t.Fatal(err)
	}
	put("notes.txt", "untracked\n", 0o640)
	put("staged.txt", "staged\n", 0o644)
	git("add", "staged.txt")
	put("node_modules/dep/index.js", "ignored\n", 0o644)
	put("debug.log", "ignored\n", 0o644)

	want := map[string]wsFile{
		"README": {mode: 0o644}, "src/main.go": {mode: 0o644}, "bin/run.sh": {mode: 0o755},
		".gitignore": {mode: 0o644}, ".mise.toml": {mode: 0o644},
		spacedName: {mode: 0o644}, newlineName: {mode: 0o644}, latin1Name: {mode: 0o600},
		"notes.txt": {mode: 0o640}, "staged.txt": {mode: 0o644},
		"inside-link":  {mode: fs.ModeSymlink, link: "README"},
		"outside-link": {mode: fs.ModeSymlink, link: "/etc/hostname"},
		"bin/up-link":  {mode: fs.ModeSymlink, link: "../../outside-the-repo"},
	}
	return repo, want
}

// TestWorkspace drives `vm run PATH` in its three shapes, one boot each:
// a command in a copy of the working tree (whose changes then go back
// and forth with `vm workspace export` and `sync`), a copy of an older commit on a
// new branch with --rm, and a shell in a subdirectory. Bad input is
// checked first; it boots nothing.
func TestWorkspace(t *testing.T) {
	h := need(t)
	h.must(t, "image", "pull", "debian-bookworm")
	cfgFile := filepath.Join(envValue(h.env, "XDG_CONFIG_HOME"), "banger", "config.toml")
	writeFile(t, cfgFile, "vmm = \"qemu\"\n")
	t.Cleanup(func() { os.Remove(cfgFile) })
	repo, want := workspaceRepo(t)
	n := newVMNet(t, h)
	size := []string{"--vcpu", "2", "--memory", "1024", "--disk-size", "1G"}
	vmRun := func(stdin io.Reader, args ...string) result {
		return n.runEnv(nil, stdin, append(append([]string{"vm", "run"}, size...), args...)...)
	}

	t.Run("bad input", func(t *testing.T) {
		plain := t.TempDir()
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{plain, "--", "true"}, "not inside a git work tree"},
			{[]string{filepath.Join(plain, "nope"), "--", "true"}, "does not exist"},
			{[]string{"--from", "v1", "--", "true"}, "only to workspace mode"},
			{[]string{"--from", "v9", repo, "--", "true"}, `--from "v9": no such commit`},
		} {
			if r := vmRun(nil, c.args...); r.code != 125 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("vm run %q: want status 125 and %q: %s", c.args, c.want, r)
			}
		}
		// A repository bigger than the work disk (a sparse file: no room
		// taken here) is refused before anything boots.
		huge := filepath.Join(repo, "huge.bin")
		if err := os.WriteFile(huge, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(huge, 2<<30); err != nil {
			t.Fatal(err)
		}
		r := vmRun(nil, "--name", "toobig", repo, "--", "true")
		os.Remove(huge)
		if r.code != 125 || !strings.Contains(r.stderr, "does not fit") || !strings.Contains(r.stderr, "--disk-size") {
			t.Errorf("vm run of a repository bigger than the disk: %s", r)
		}
		if r := n.run("vm", "show", "toobig"); r.code == 0 {
			t.Errorf("a refused workspace left a VM: %s", r)
		}
	})

	t.Run("working tree, command", func(t *testing.T) {
		script := `set -e
pwd >&2
echo "branch=$(git symbolic-ref HEAD)" >&2
echo "log=$(git log --format=%s | tr '\n' ,)" >&2
git status --porcelain --untracked-files=all > /tmp/status
echo "=== log" >&2
cat /root/.cache/banger/vm-run-tooling-repo.log >&2
tar -C /root/repo --exclude=./.git -cf - .
exit 3`
		r := vmRun(nil, "--name", "ws", repo, "--", "sh", "-c", script)
		if r.code != 3 {
			t.Fatalf("want the command's status 3: %s", r)
		}
		for _, w := range []string{"/root/repo\n", "branch=refs/heads/main\n", "log=second,first,\n",
			"log: /root/.cache/banger/vm-run-tooling-repo.log", "mise install exited with status 0"} {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
			}
		}
		checkCopy(t, repo, want, []byte(r.stdout))
		// The guest's git sees the changes the host's does.
		hostStatus, err := exec.Command("git", "-C", repo, "status", "--porcelain", "--untracked-files=all").Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := n.ssh(t, "ws", "cat /tmp/status"); got != string(hostStatus) {
			t.Errorf("git status in the guest:\n%s\non the host:\n%s", got, hostStatus)
		}
	})

	t.Run("export and sync", func(t *testing.T) {
		defer n.run("vm", "delete", "--force", "ws")
		workspaceRoundTrip(t, n, repo)
	})

	t.Run("from an older commit, on a new branch, --rm", func(t *testing.T) {
		r := vmRun(nil, "--rm", "--name", "wsfrom", "--from", "v1", "--branch", "try-it", repo, "--",
			`ls -A | tr '\n' ' '; cat README; git symbolic-ref HEAD; git log --format=%s; git status --porcelain`)
		want := ".git README gone.txt src v1\nrefs/heads/try-it\nfirst\n"
		if r.code != 0 || r.stdout != want {
			t.Errorf("vm run --from v1 --branch try-it: want stdout %q: %s", want, r)
		}
		if r := n.run("vm", "show", "wsfrom"); r.code == 0 {
			t.Errorf("vm run --rm left the VM: %s", r)
		}
	})

	t.Run("shell in a subdirectory", func(t *testing.T) {
		// Without a terminal the login shell reads its commands from stdin.
		stdin := strings.NewReader(`pwd
for i in $(seq 1 120); do grep -q 'exited with status' /root/.cache/banger/vm-run-tooling-repo.log 2>/dev/null && break; sleep 1; done
tail -n 1 /root/.cache/banger/vm-run-tooling-repo.log
exit
`)
		r := vmRun(stdin, "--rm", "--name", "wsshell", filepath.Join(repo, "src"))
		if r.code != 0 || !strings.HasPrefix(r.stdout, "/root/repo/src\n") || !strings.Contains(r.stdout, "mise install exited with status 0") {
			t.Errorf("shell in the copy's src: %s", r)
		}
		if !strings.Contains(r.stderr, "in the background") {
			t.Errorf("the user is not told the tooling runs in the background: %s", r.stderr)
		}
	})
}

// checkCopy compares a tar of the guest's copy with the files expected,
// whose content is the host's.
func checkCopy(t *testing.T, repo string, want map[string]wsFile, tarball []byte) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(tarball))
	var got []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading the guest's tar (%d bytes): %v", len(tarball), err)
		}
		rel := strings.TrimPrefix(hdr.Name, "./")
		if hdr.Typeflag == tar.TypeDir {
			continue
		}
		got = append(got, rel)
		w, ok := want[rel]
		if !ok {
			t.Errorf("the guest has %q, which should not have been copied", rel)
			continue
		}
		if hdr.Uid != 0 || hdr.Gid != 0 {
			t.Errorf("%q is owned by %d:%d, want root", rel, hdr.Uid, hdr.Gid)
		}
		if w.mode == fs.ModeSymlink {
			if hdr.Typeflag != tar.TypeSymlink || hdr.Linkname != w.link {
				t.Errorf("%q: type %c, link %q; want a symlink to %q", rel, hdr.Typeflag, hdr.Linkname, w.link)
			}
			continue
		}
		if fs.FileMode(hdr.Mode).Perm() != w.mode {
			t.Errorf("%q has mode %o, want %o", rel, hdr.Mode, w.mode)
		}
		content, _ := io.ReadAll(tr)
		if host, err := os.ReadFile(filepath.Join(repo, rel)); err != nil || !bytes.Equal(content, host) {
			t.Errorf("%q holds %q, the host's file %q (%v)", rel, content, host, err)
		}
	}
	var wantNames []string
	for rel := range want {
		wantNames = append(wantNames, rel)
	}
	slices.Sort(got)
	slices.Sort(wantNames)
	if !slices.Equal(got, wantNames) {
		t.Errorf("the guest's copy holds\n%q\nwant\n%q", got, wantNames)
	}
}
