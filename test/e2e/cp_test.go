package e2e

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// manifestScript lists a tree's names, modes, types and link targets,
// then its files' sha256 sums, the same on the host and in a guest.
const manifestScript = `cd "$1" && find . -printf '%p %m %y %l\n' | LC_ALL=C sort && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum`

// cpTree makes a 50 MiB tree with modes, links and an empty directory.
func cpTree(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "tree")
	for _, d := range []string{"bin", "data/deep/er", "empty"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	chunk := make([]byte, 10<<20)
	for i, name := range []string{"data/a", "data/b", "data/deep/c", "data/deep/er/d", "bin/e"} {
		rand.Read(chunk)
		writeFile(t, filepath.Join(root, name), string(chunk))
		os.Chmod(filepath.Join(root, name), []os.FileMode{0o644, 0o600, 0o640, 0o444, 0o755}[i])
	}
	writeFile(t, filepath.Join(root, "bin", "run"), "#!/bin/sh\necho ran\n")
	os.Chmod(filepath.Join(root, "bin", "run"), 0o750)
	os.Symlink("../data/a", filepath.Join(root, "bin", "rel-link"))
	os.Symlink("/nowhere/at/all", filepath.Join(root, "dangling"))
	os.Chmod(filepath.Join(root, "data", "deep"), 0o700)
	return root
}

func hostManifest(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", manifestScript, "sh", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("manifest of %s: %v: %s", dir, err, out)
	}
	return string(out)
}

// testCp copies a 50 MiB tree into the VM box and back, and single
// files, with the VM's network policy none: the copy goes through the
// guest agent only.
func testCp(t *testing.T, n *vmNet) {
	t.Helper()
	n.must(t, "vm", "network", "box", "none")
	tree := cpTree(t)
	want := hostManifest(t, tree)

	n.must(t, "vm", "cp", tree, "box:/root/cp")
	got := n.must(t, "vm", "exec", "box", "--", "sh", "-c", manifestScript, "sh", "/root/cp").stdout
	if got != want {
		t.Fatalf("the tree in the guest differs:\n%s\nwant:\n%s", got, want)
	}

	back := filepath.Join(t.TempDir(), "back")
	n.must(t, "vm", "cp", "box:/root/cp", back)
	if got := hostManifest(t, back); got != want {
		t.Errorf("the tree copied back differs:\n%s\nwant:\n%s", got, want)
	}

	// docker cp's placement: into an existing directory, by base name.
	dir := t.TempDir()
	n.must(t, "vm", "cp", "box:/etc/hostname", dir)
	if b, err := os.ReadFile(filepath.Join(dir, "hostname")); err != nil || strings.TrimSpace(string(b)) != "box" {
		t.Errorf("vm cp box:/etc/hostname DIR gave %q, %v", b, err)
	}
	if r := n.run("vm", "cp", "box:/no/such/file", dir); r.code == 0 || !strings.Contains(r.stderr, "/no/such/file does not exist") {
		t.Errorf("vm cp of a missing guest path: %s", r)
	}
	testCpFile(t, n)
}

// testCpFile copies single executable files each way: they go through
// the agent's file operations, and keep their bytes, modes and times.
func testCpFile(t *testing.T, n *vmNet) {
	t.Helper()
	script := filepath.Join(t.TempDir(), "run.sh")
	writeFile(t, script, "#!/bin/sh\necho ran from the host\n")
	os.Chmod(script, 0o751)
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(script, mtime, mtime)
	n.must(t, "vm", "cp", script, "box:/root/")
	n.must(t, "vm", "cp", script, "box:/root/renamed.sh")
	for _, p := range []string{"/root/run.sh", "/root/renamed.sh"} {
		got := n.must(t, "vm", "exec", "box", "--", "sh", "-c", `stat -c '%a %Y' "$1" && "$1"`, "sh", p).stdout
		if want := fmt.Sprintf("751 %d\nran from the host\n", mtime.Unix()); got != want {
			t.Errorf("%s in the guest: %q; want %q (mode, time, then its output)", p, got, want)
		}
	}

	n.must(t, "vm", "exec", "box", "--", "sh", "-c", `printf '#!/bin/sh\necho ran from the guest\n' > /root/g.sh && chmod 710 /root/g.sh`)
	dir := t.TempDir()
	old := filepath.Join(dir, "g.sh")
	writeFile(t, old, "an older file, replaced")
	os.Chmod(old, 0o600)
	n.must(t, "vm", "cp", "box:/root/g.sh", dir+"/")
	n.must(t, "vm", "cp", "box:g.sh", filepath.Join(dir, "new.sh"))
	for _, p := range []string{old, filepath.Join(dir, "new.sh")} {
		fi, err := os.Stat(p)
		out, xerr := exec.Command(p).Output()
		if err != nil || fi.Mode() != 0o710 || xerr != nil || string(out) != "ran from the guest\n" {
			t.Errorf("%s on the host: %v, %v; ran %q, %v; want mode 0710 and the guest's script", p, fi, err, out, xerr)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("the host directory holds %d entries; want g.sh and new.sh, no temporary file", len(ents))
	}
}
