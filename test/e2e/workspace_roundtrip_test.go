package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// guestState is what `vm workspace export` must leave as it was in the
// guest's repository.
const guestState = `cd /root/repo && git rev-parse HEAD && git for-each-ref && sha256sum .git/index && git stash list && GIT_OPTIONAL_LOCKS=0 git status --porcelain --untracked-files=all`

// workspaceRoundTrip takes work made in the guest's copy of repo (VM
// ws, running) back to the host with `vm workspace export`, and the
// host's changes to the guest with `vm workspace sync`.
func workspaceRoundTrip(t *testing.T, n *vmNet, repo string) {
	n.must(t, "vm", "exec", "ws", "-w", "/root/repo", "--", "sh", "-c", `set -e
echo 'func main() {}' >> src/main.go
git add src/main.go
git -c user.name=guest -c user.email=guest@example.org commit -qm 'from the guest'
echo 'edited in the guest' >> README
printf 'new\0binary\n' > guest.bin
echo 'only in the guest' > guest-only.txt`)
	before := n.must(t, "vm", "exec", "ws", "--", "sh", "-c", guestState).stdout
	patch := filepath.Join(t.TempDir(), "ws.patch")
	n.must(t, "vm", "workspace", "export", "ws", "-o", patch)
	if after := n.must(t, "vm", "exec", "ws", "--", "sh", "-c", guestState).stdout; after != before {
		t.Errorf("the export changed the guest's repository:\n%s\nwas:\n%s", after, before)
	}
	want := map[string]string{}
	for _, rel := range []string{"README", "src/main.go", "guest.bin", "guest-only.txt", "notes.txt", "staged.txt"} {
		want[rel] = n.must(t, "vm", "exec", "ws", "--", "cat", "/root/repo/"+rel).stdout
	}
	for _, apply := range [][]string{{"am", patch}, {"apply", patch}} {
		clone := hostGit(t, "", "clone", "-q", repo, filepath.Join(t.TempDir(), "clone"))
		hostGit(t, clone, apply...)
		for rel, content := range want {
			if got, err := os.ReadFile(filepath.Join(clone, rel)); err != nil || string(got) != content {
				t.Errorf("git %s: %s holds %q (%v), the guest's %q", apply[0], rel, got, err, content)
			}
		}
		if _, err := os.Stat(filepath.Join(clone, "gone.txt")); err == nil {
			t.Errorf("git %s: gone.txt, deleted before the copy, is back", apply[0])
		}
		if apply[0] == "am" {
			log := hostGitOut(t, clone, "log", "-3", "--format=%s")
			if log != "Uncommitted changes in VM ws\nfrom the guest\nsecond\n" {
				t.Errorf("git am made the commits %q", log)
			}
		}
	}

	writeFile(t, filepath.Join(repo, "README"), "synced from the host\n")
	writeFile(t, filepath.Join(repo, "host-new.txt"), "new on the host\n")
	if r := n.must(t, "vm", "workspace", "sync", "--dry-run", "ws"); !strings.Contains(r.stdout, "host-new.txt\n") {
		t.Errorf("sync --dry-run does not list host-new.txt: %s", r)
	}
	n.must(t, "vm", "workspace", "sync", "ws")
	got := n.must(t, "vm", "exec", "ws", "-w", "/root/repo", "--", "sh", "-c",
		`cat README host-new.txt guest-only.txt; git log -1 --format=%s`).stdout
	if want := "synced from the host\nnew on the host\nonly in the guest\nfrom the guest\n"; got != want {
		t.Errorf("the guest after a sync: %q, want %q", got, want)
	}
}

// hostGit runs git on the host in dir and returns dir, or the clone it
// made.
func hostGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	hostGitOut(t, dir, args...)
	if args[0] == "clone" {
		return args[len(args)-1]
	}
	return dir
}

func hostGitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.org",
		"GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.org", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}
