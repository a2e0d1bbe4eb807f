package guestinit

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"banger/internal/guestabi"
)

// chownLog stands in for os.Lchown, which needs root: it records the
// calls and, like the kernel, clears setuid and setgid bits of what is
// not a symlink.
type chownLog struct {
	calls map[string][2]int // path -> uid, gid
}

func newChownLog() *chownLog { return &chownLog{calls: map[string][2]int{}} }

func (c *chownLog) lchown(path string, uid, gid int) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	c.calls[path] = [2]int{uid, gid}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return os.Chmod(path, fi.Mode().Perm()|fi.Mode()&fs.ModeSticky)
	}
	return nil
}

func write(t *testing.T, path, data string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("reading %s: %v", path, err)
	}
	return string(b)
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return fi.Mode()
}

// workFixture is a work disk as the host builds it and an image's /root.
func workFixture(t *testing.T) (work, imageHome string) {
	work, imageHome = t.TempDir(), t.TempDir()
	write(t, filepath.Join(work, ".ssh/authorized_keys"), "ssh-ed25519 KEY\n", 0o600)
	write(t, filepath.Join(work, ".local/bin/tool"), "#!/bin/sh\n", 0o755|fs.ModeSetuid)
	symlink(t, "/etc/passwd", filepath.Join(work, "passwd-link"))
	if err := os.Chmod(work, 0o755); err != nil {
		t.Fatal(err)
	}

	write(t, filepath.Join(imageHome, ".bashrc"), "# image bashrc\n", 0o644)
	write(t, filepath.Join(imageHome, ".profile"), "# image profile\n", 0o640)
	write(t, filepath.Join(imageHome, ".ssh/image-only"), "not copied: the disk has .ssh\n", 0o600)
	write(t, filepath.Join(imageHome, ".config/mise/config.toml"), "[tools]\n", 0o644)
	symlink(t, ".bashrc", filepath.Join(imageHome, ".bashrc-link"))
	if err := os.Chmod(imageHome, 0o700); err != nil {
		t.Fatal(err)
	}
	return work, imageHome
}

func TestFirstBoot(t *testing.T) {
	work, imageHome := workFixture(t)
	var before []string
	filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
		before = append(before, p)
		return err
	})
	c := newChownLog()
	did, err := firstBoot(work, imageHome, c.lchown)
	if err != nil || !did {
		t.Fatalf("firstBoot = %v, %v; want true, nil", did, err)
	}
	for _, p := range before {
		want := [2]int{0, 0}
		if p == work { // the top takes the image home's owner, root's in a guest
			want = [2]int{os.Getuid(), os.Getgid()}
		}
		if got, ok := c.calls[p]; !ok || got != want {
			t.Errorf("%s: chown %v (called %v), want %v", p, got, ok, want)
		}
	}
	if got := mode(t, filepath.Join(work, ".local/bin/tool")); got&fs.ModeSetuid == 0 {
		t.Errorf("tool lost its setuid bit in the chown: mode %v", got)
	}
	if got := mode(t, filepath.Join(work, "passwd-link")); got.Type() != fs.ModeSymlink {
		t.Errorf("the symlink became %v", got)
	}
	if got := mode(t, work).Perm(); got != 0o700 {
		t.Errorf("the work disk's top has mode %o, want the image home's 0700", got)
	}
	for p, want := range map[string]string{
		".bashrc":                  "# image bashrc\n",
		".profile":                 "# image profile\n",
		".config/mise/config.toml": "[tools]\n",
		".ssh/authorized_keys":     "ssh-ed25519 KEY\n",
	} {
		if got := read(t, filepath.Join(work, p)); got != want {
			t.Errorf("%s holds %q, want %q", p, got, want)
		}
	}
	if got := mode(t, filepath.Join(work, ".profile")).Perm(); got != 0o640 {
		t.Errorf(".profile copied with mode %o, want the image's 0640", got)
	}
	if link, err := os.Readlink(filepath.Join(work, ".bashrc-link")); err != nil || link != ".bashrc" {
		t.Errorf(".bashrc-link = %q, %v; want a symlink to .bashrc", link, err)
	}
	if _, err := os.Lstat(filepath.Join(work, ".ssh/image-only")); err == nil {
		t.Error("the image's .ssh was merged into the disk's")
	}
	if _, err := os.Stat(filepath.Join(work, guestabi.WorkMarker)); err != nil {
		t.Errorf("no first-boot marker: %v", err)
	}

	again := newChownLog()
	if did, err := firstBoot(work, imageHome, again.lchown); err != nil || did || len(again.calls) != 0 {
		t.Errorf("second boot: firstBoot = %v, %v with %d chowns; want false, nil and none", did, err, len(again.calls))
	}
}

// TestFirstBootAfterCrash runs the first boot again, as after a crash
// before the marker reached the disk: it must succeed and change nothing
// the first run made.
func TestFirstBootAfterCrash(t *testing.T) {
	work, imageHome := workFixture(t)
	if _, err := firstBoot(work, imageHome, newChownLog().lchown); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(work, ".bashrc"), "# edited in the VM\n", 0o644)
	if err := os.Remove(filepath.Join(work, guestabi.WorkMarker)); err != nil {
		t.Fatal(err)
	}
	did, err := firstBoot(work, imageHome, newChownLog().lchown)
	if err != nil || !did {
		t.Fatalf("firstBoot again = %v, %v", did, err)
	}
	if got := read(t, filepath.Join(work, ".bashrc")); got != "# edited in the VM\n" {
		t.Errorf("a file on the disk was overwritten from the image: %q", got)
	}
}

func TestFirstBootWithoutImageHome(t *testing.T) {
	work := t.TempDir()
	write(t, filepath.Join(work, "f"), "x", 0o600)
	did, err := firstBoot(work, filepath.Join(t.TempDir(), "none"), newChownLog().lchown)
	if err != nil || !did {
		t.Fatalf("firstBoot = %v, %v", did, err)
	}
	if got := mode(t, work).Perm(); got != 0o700 {
		t.Errorf("the work disk's top has mode %o, want 0700", got)
	}
}

func TestPrepareUpper(t *testing.T) {
	disk, lower := t.TempDir(), t.TempDir()
	if err := os.Chmod(lower, 0o755); err != nil {
		t.Fatal(err)
	}
	c := newChownLog()
	if err := prepareUpper(disk, lower, c.lchown); err != nil {
		t.Fatalf("prepareUpper: %v", err)
	}
	upper := filepath.Join(disk, upperName)
	if got := mode(t, upper); !got.IsDir() || got.Perm() != 0o755 {
		t.Errorf("upper directory mode %v, want the lower root's drwxr-xr-x", got)
	}
	if _, ok := c.calls[upper]; !ok {
		t.Error("the upper directory was not given the lower root's owner")
	}
	if got := mode(t, filepath.Join(disk, workName)); !got.IsDir() {
		t.Errorf("work directory: %v", got)
	}

	write(t, filepath.Join(upper, "etc/changed"), "kept\n", 0o644)
	again := newChownLog()
	if err := prepareUpper(disk, lower, again.lchown); err != nil {
		t.Fatalf("prepareUpper on a used disk: %v", err)
	}
	if got := read(t, filepath.Join(upper, "etc/changed")); got != "kept\n" || len(again.calls) != 0 {
		t.Errorf("prepareUpper on a used disk changed it: %q, %d chowns", got, len(again.calls))
	}
}

func TestBootParamsString(t *testing.T) {
	p := bootParams{Root: "/dev/vda", FSType: "ext4", ReadOnly: true, Overlay: "/dev/vdb", Work: "/dev/vdc"}
	got := p.String()
	for _, want := range []string{"root=/dev/vda", "banger.overlay=/dev/vdb", "banger.work=/dev/vdc"} {
		if !strings.Contains(got, want) {
			t.Errorf("String() = %q, missing %q", got, want)
		}
	}
	if slices.Contains(strings.Fields((bootParams{Root: "/dev/vda"}).String()), "banger.work=") {
		t.Error("String() names an empty work disk")
	}
}
