package vmdisk

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// requireE2fsprogs skips a test that makes or reads real filesystems
// when e2fsprogs is missing.
func requireE2fsprogs(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"mkfs.ext4", "debugfs"} {
		if _, err := findTool(tool); err != nil {
			t.Skipf("%s not found: install e2fsprogs to run this test", tool)
		}
	}
}

// diskInode is what debugfs says about one inode of a filesystem image.
type diskInode struct {
	Type string      // "regular", "directory", "symlink", ...
	Perm fs.FileMode // permission bits
	UID  int
	Link string // a fast symlink's target
}

var (
	statTypeMode = regexp.MustCompile(`Type: (\S+)\s+Mode:\s+([0-7]+)`)
	statUser     = regexp.MustCompile(`User:\s+(\d+)`)
	statLink     = regexp.MustCompile(`Fast link dest: "(.*)"`)
	groupLine    = regexp.MustCompile(`^Group \d+:`)
)

// debugfs runs one read-only debugfs request against img.
func debugfs(t *testing.T, img, request string) string {
	t.Helper()
	bin, err := findTool("debugfs")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-R", request, img).Output()
	if err != nil {
		t.Fatalf("debugfs -R %q %s: %v", request, img, err)
	}
	return string(out)
}

// statDisk describes the file at p in img; ok is false when it is absent.
func statDisk(t *testing.T, img, p string) (ino diskInode, ok bool) {
	t.Helper()
	out := debugfs(t, img, "stat "+p)
	m := statTypeMode.FindStringSubmatch(out)
	if m == nil {
		return diskInode{}, false
	}
	perm, _ := strconv.ParseUint(m[2], 8, 32)
	ino = diskInode{Type: m[1], Perm: fs.FileMode(perm)}
	if u := statUser.FindStringSubmatch(out); u != nil {
		ino.UID, _ = strconv.Atoi(u[1])
	}
	if l := statLink.FindStringSubmatch(out); l != nil {
		ino.Link = l[1]
	}
	return ino, true
}

// itablesZeroed counts img's block groups and those whose inode table is
// marked as zeroed.
func itablesZeroed(t *testing.T, img string) (groups, zeroed int) {
	t.Helper()
	bin, err := findTool("dumpe2fs")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, img).Output()
	if err != nil {
		t.Fatalf("dumpe2fs %s: %v", img, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if groupLine.MatchString(line) {
			groups++
			if strings.Contains(line, "ITABLE_ZEROED") {
				zeroed++
			}
		}
	}
	return groups, zeroed
}

// catDisk returns the content of the file at p in img.
func catDisk(t *testing.T, img, p string) string {
	t.Helper()
	return debugfs(t, img, "cat "+p)
}

// lsDisk lists the names in the directory p of img, without . and ..
func lsDisk(t *testing.T, img, p string) []string {
	t.Helper()
	var names []string
	for _, n := range strings.Fields(debugfs(t, img, "ls -p "+p)) {
		// ls -p prints /inode/mode/uid/gid/name/size/ records.
		f := strings.Split(strings.Trim(n, "/"), "/")
		if len(f) >= 5 && f[4] != "." && f[4] != ".." {
			names = append(names, f[4])
		}
	}
	return names
}

// dirNames lists what dir holds, for checking nothing was left behind.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func writeFile(t *testing.T, path, data string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}
