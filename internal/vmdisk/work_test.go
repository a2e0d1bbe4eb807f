package vmdisk

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/progress"
)

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITEST banger\n"

// hostHome makes a home directory with dotfiles of several kinds.
func hostHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	writeFile(t, filepath.Join(home, ".gitconfig"), "[user]\n\tname = Ada\n", 0o644)
	writeFile(t, filepath.Join(home, ".aws/config"), "[default]\nregion = eu-west-1\n", 0o640)
	writeFile(t, filepath.Join(home, ".aws/credentials"), "secret\n", 0o600)
	writeFile(t, filepath.Join(home, ".aws/sub/deep.txt"), "deep\n", 0o644)
	writeFile(t, filepath.Join(home, "bin/tool.sh"), "#!/bin/sh\necho tool\n", 0o755)
	writeFile(t, filepath.Join(home, "dotfiles/vimrc"), "set nocompatible\n", 0o600)
	for link, target := range map[string]string{".aws/link": "config", ".aws/sub/up": "../credentials", ".vimrc": "dotfiles/vimrc"} {
		if err := os.Symlink(target, filepath.Join(home, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(home, ".aws/fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

func workOptions(t *testing.T, home string, entries ...config.FileSync) WorkOptions {
	return WorkOptions{
		Path: filepath.Join(t.TempDir(), "work.ext4"), Size: 64 << 20,
		AuthorizedKeys: []byte(testKey), FileSync: entries, HostHome: home,
	}
}

func TestBuildWork(t *testing.T) {
	requireE2fsprogs(t)
	home := hostHome(t)
	o := workOptions(t, home,
		config.FileSync{Host: "~/.gitconfig", Guest: "~/.gitconfig"},
		config.FileSync{Host: filepath.Join(home, ".aws"), Guest: "/root/.aws"},
		config.FileSync{Host: "~/bin", Guest: "~/.local/bin", Mode: "0750"},
		config.FileSync{Host: "~/.vimrc", Guest: "~/.vimrc", Mode: "644"},
	)
	var notes []string
	o.Progress = func(e progress.Event) { notes = append(notes, e.Message) }
	if err := BuildWork(context.Background(), o); err != nil {
		t.Fatalf("BuildWork: %v", err)
	}
	img := o.Path
	for p, want := range map[string]diskInode{
		"/":                     {Type: "directory", Perm: 0o755},
		"/.ssh":                 {Type: "directory", Perm: 0o700},
		"/.ssh/authorized_keys": {Type: "regular", Perm: 0o600},
		"/.gitconfig":           {Type: "regular", Perm: 0o600},
		"/.aws":                 {Type: "directory", Perm: 0o755},
		"/.aws/config":          {Type: "regular", Perm: 0o640},
		"/.aws/credentials":     {Type: "regular", Perm: 0o600},
		"/.aws/sub/deep.txt":    {Type: "regular", Perm: 0o644},
		"/.aws/link":            {Type: "symlink", Perm: 0o777, Link: "config"},
		"/.aws/sub/up":          {Type: "symlink", Perm: 0o777, Link: "../credentials"},
		"/.local":               {Type: "directory", Perm: 0o700},
		"/.local/bin/tool.sh":   {Type: "regular", Perm: 0o750},
		"/.vimrc":               {Type: "regular", Perm: 0o644},
	} {
		got, ok := statDisk(t, img, p)
		if !ok {
			t.Errorf("%s is missing from the work disk", p)
			continue
		}
		if p == "/" && got.UID != 0 {
			t.Errorf("the work disk's root directory belongs to uid %d, want 0", got.UID)
		}
		got.UID = 0
		if got != want {
			t.Errorf("%s = %+v, want %+v", p, got, want)
		}
	}
	for p, want := range map[string]string{
		"/.ssh/authorized_keys": testKey,
		"/.gitconfig":           "[user]\n\tname = Ada\n",
		"/.aws/config":          "[default]\nregion = eu-west-1\n",
		"/.local/bin/tool.sh":   "#!/bin/sh\necho tool\n",
		"/.vimrc":               "set nocompatible\n",
	} {
		if got := catDisk(t, img, p); got != want {
			t.Errorf("%s holds %q, want %q", p, got, want)
		}
	}
	if _, ok := statDisk(t, img, "/.aws/fifo"); ok {
		t.Error("a named pipe was copied to the work disk")
	}
	if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "fifo") && strings.Contains(n, "named pipe") }) {
		t.Errorf("no progress note about the skipped named pipe: %q", notes)
	}
	names := lsDisk(t, img, "/")
	slices.Sort(names)
	if want := []string{".aws", ".gitconfig", ".local", ".ssh", ".vimrc", "lost+found"}; !reflect.DeepEqual(names, want) {
		t.Errorf("the work disk's top holds %q, want %q", names, want)
	}
	fi, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != o.Size {
		t.Errorf("the work disk is %d bytes, want disk_size %d", fi.Size(), o.Size)
	}
	if got := dirNames(t, filepath.Dir(img)); !reflect.DeepEqual(got, []string{"work.ext4"}) {
		t.Errorf("the VM dir holds %q, want only work.ext4 (no staging left)", got)
	}
}

func TestBuildWorkAddsKeyToSyncedAuthorizedKeys(t *testing.T) {
	requireE2fsprogs(t)
	home := t.TempDir()
	writeFile(t, filepath.Join(home, ".ssh/authorized_keys"), "ssh-rsa AAAAOLD laptop", 0o644)
	writeFile(t, filepath.Join(home, ".ssh/config"), "Host *\n", 0o644)
	o := workOptions(t, home, config.FileSync{Host: "~/.ssh", Guest: "~/.ssh"})
	if err := BuildWork(context.Background(), o); err != nil {
		t.Fatalf("BuildWork: %v", err)
	}
	if got, want := catDisk(t, o.Path, "/.ssh/authorized_keys"), "ssh-rsa AAAAOLD laptop\n"+testKey; got != want {
		t.Errorf("authorized_keys holds %q, want %q", got, want)
	}
	for p, want := range map[string]fs.FileMode{"/.ssh": 0o700, "/.ssh/authorized_keys": 0o600, "/.ssh/config": 0o644} {
		if got, _ := statDisk(t, o.Path, p); got.Perm != want {
			t.Errorf("%s has mode %o, want %o", p, got.Perm, want)
		}
	}
}

func TestBuildWorkRefuses(t *testing.T) {
	requireE2fsprogs(t)
	home := hostHome(t)
	escaping := filepath.Join(home, "escaping")
	writeFile(t, filepath.Join(escaping, "ok"), "x", 0o600)
	if err := os.Symlink("../.gitconfig", filepath.Join(escaping, "up")); err != nil {
		t.Fatal(err)
	}
	absolute := filepath.Join(home, "absolute")
	if err := os.MkdirAll(absolute, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(absolute, "passwd")); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(home, "big.img")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 80<<20); err != nil { // sparse: takes no room here
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		entries []config.FileSync
		kind    error
		want    []string // substrings of the error
	}{
		{"symlink out of the tree", []config.FileSync{{Host: "~/escaping", Guest: "~/escaping"}},
			errdefs.ErrInvalidArgument, []string{"entry 1", filepath.Join(escaping, "up"), "outside the synced directory"}},
		{"absolute symlink", []config.FileSync{{Host: "~/.gitconfig", Guest: "~/.gitconfig"}, {Host: "~/absolute", Guest: "~/a"}},
			errdefs.ErrInvalidArgument, []string{"entry 2", "/etc/passwd", "outside the synced directory"}},
		{"missing host path", []config.FileSync{{Host: "~/no-such-file", Guest: "~/x"}},
			errdefs.ErrInvalidArgument, []string{filepath.Join(home, "no-such-file"), "does not exist"}},
		{"relative host path", []config.FileSync{{Host: "dotfiles/vimrc", Guest: "~/x"}},
			errdefs.ErrInvalidArgument, []string{"must be absolute"}},
		{"guest path outside /root", []config.FileSync{{Host: "~/.gitconfig", Guest: "/etc/gitconfig"}},
			errdefs.ErrInvalidArgument, []string{"/etc/gitconfig", "outside the VM's work disk"}},
		{"guest path climbing out", []config.FileSync{{Host: "~/.gitconfig", Guest: "~/../etc/x"}},
			errdefs.ErrInvalidArgument, []string{"climbs out of /root"}},
		{"guest path /root itself", []config.FileSync{{Host: "~/.gitconfig", Guest: "/root/"}},
			errdefs.ErrInvalidArgument, []string{"names /root itself"}},
		{"guest path reserved", []config.FileSync{{Host: "~/.gitconfig", Guest: "~/" + WorkMarker}},
			errdefs.ErrInvalidArgument, []string{"reserved"}},
		{"bad mode", []config.FileSync{{Host: "~/.gitconfig", Guest: "~/x", Mode: "0999"}},
			errdefs.ErrInvalidArgument, []string{`mode "0999"`}},
		{"file under a synced file", []config.FileSync{{Host: "~/.gitconfig", Guest: "~/x"}, {Host: "~/.vimrc", Guest: "~/x/vimrc"}},
			errdefs.ErrInvalidArgument, []string{"entry 2", "/root/x", "entry 1", "put a file there"}},
		{"too big", []config.FileSync{{Host: big, Guest: "~/big.img"}},
			errdefs.ErrInvalidArgument, []string{"does not fit", "disk_size"}},
		{"special file", []config.FileSync{{Host: "~/.aws/fifo", Guest: "~/fifo"}},
			errdefs.ErrInvalidArgument, []string{"named pipe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := workOptions(t, home, tt.entries...)
			err := BuildWork(context.Background(), o)
			if err == nil {
				t.Fatal("BuildWork succeeded")
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("BuildWork error %q is not %v", err, tt.kind)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("BuildWork error %q does not mention %q", err, w)
				}
			}
			if got := dirNames(t, filepath.Dir(o.Path)); len(got) != 0 {
				t.Errorf("a failed BuildWork left %q behind", got)
			}
		})
	}
}

func TestBuildWorkKeepsAnExistingDisk(t *testing.T) {
	o := workOptions(t, t.TempDir())
	writeFile(t, o.Path, "the VM's home", 0o600)
	err := BuildWork(context.Background(), o)
	if !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("BuildWork over an existing disk = %v, want already exists", err)
	}
	if b, _ := os.ReadFile(o.Path); string(b) != "the VM's home" {
		t.Errorf("the existing disk changed: %q", b)
	}
}

func TestBuildWorkWithoutMkfs(t *testing.T) {
	saved := lookTool
	lookTool = func(name string) (string, error) { // as paths.LookTool on a host without it
		return "", errdefs.FailedPrecondition("%s not found on PATH or in /usr/sbin", name)
	}
	t.Cleanup(func() { lookTool = saved })
	o := workOptions(t, t.TempDir())
	err := BuildWork(context.Background(), o)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "install e2fsprogs") {
		t.Errorf("BuildWork without mkfs.ext4 = %v, want a failed precondition saying to install e2fsprogs", err)
	}
	if got := dirNames(t, filepath.Dir(o.Path)); len(got) != 0 {
		t.Errorf("a failed BuildWork left %q behind", got)
	}
}

// TestBuildWorkSizeCheck fills a disk close to what an empty one offers:
// the estimate must neither refuse what fits nor pass what mkfs cannot
// hold.
func TestBuildWorkSizeCheck(t *testing.T) {
	requireE2fsprogs(t)
	const size = 32 << 20
	probe := filepath.Join(t.TempDir(), "probe.ext4")
	writeFile(t, probe, "", 0o600)
	if err := runMkfs(context.Background(), probe, "probe", "", size); err != nil {
		t.Fatal(err)
	}
	sp, err := readSpace(probe)
	if err != nil {
		t.Fatal(err)
	}
	free := sp.FreeBlocks * sp.BlockSize
	for _, tt := range []struct {
		fill int64
		fits bool
	}{{free * 9 / 10, true}, {free, false}} {
		home := t.TempDir()
		data := filepath.Join(home, "data")
		writeFile(t, data, "", 0o600)
		if err := os.Truncate(data, tt.fill); err != nil {
			t.Fatal(err)
		}
		o := workOptions(t, home, config.FileSync{Host: "~/data", Guest: "~/data"})
		o.Size = size
		err := BuildWork(context.Background(), o)
		if tt.fits && err != nil {
			t.Errorf("BuildWork with %d of %d free bytes used: %v", tt.fill, free, err)
		}
		if !tt.fits && !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("BuildWork with %d of %d free bytes used = %v, want a clear refusal", tt.fill, free, err)
		}
	}
}

func TestGuestRel(t *testing.T) {
	for in, want := range map[string]string{
		"~/.aws": ".aws", "/root/.aws/": ".aws", "~/a//b/./c": "a/b/c", "~/a/../b": "b", "/root/.ssh/config": ".ssh/config", "~//x": "x",
	} {
		if got, err := guestRel(in); err != nil || got != want {
			t.Errorf("guestRel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "~", "/root", "/root/", "~/", "~/.", "/etc/x", "root/x", "~x", "/rootx/y", "~/..", "~/a/../../x", "/root/../etc", "~/.banger-work", "~/lost+found/x", "~/a\x00b", "~//../x", "/root///.."} {
		if got, err := guestRel(in); err == nil {
			t.Errorf("guestRel(%q) = %q, want an error", in, got)
		}
	}
}

func TestHostPath(t *testing.T) {
	for in, want := range map[string]string{"~/.aws": "/home/ada/.aws", "~": "/home/ada", "/etc/x/": "/etc/x"} {
		if got, err := hostPath(in, "/home/ada"); err != nil || got != want {
			t.Errorf("hostPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "~ada/x", "./x"} {
		if _, err := hostPath(in, "/home/ada"); err == nil {
			t.Errorf("hostPath(%q) accepted a relative path", in)
		}
	}
	if _, err := hostPath("~/x", ""); err == nil || !strings.Contains(err.Error(), "home directory is unknown") {
		t.Errorf("hostPath with no home = %v", err)
	}
}

func TestEscapes(t *testing.T) {
	for _, tt := range []struct {
		rel, target string
		want        bool
	}{
		{"link", "config", false}, {"sub/up", "../credentials", false}, {"a/b/c", "../../x", false},
		{"link", "../x", true}, {"sub/up", "../../x", true}, {"link", "/etc/passwd", true},
		{"link", "", true}, {"a/link", "b/../../../x", true}, {"link", ".", false},
	} {
		if got := escapes(tt.rel, tt.target); got != tt.want {
			t.Errorf("escapes(%q, %q) = %v, want %v", tt.rel, tt.target, got, tt.want)
		}
	}
}

// FuzzGuestRel checks that an accepted guest path always lands strictly
// under /root, outside the reserved names, and means what config says it
// means.
func FuzzGuestRel(f *testing.F) {
	for _, s := range []string{"~/.aws", "/root/a/../b", "~/..", "/root/./../x", "~/a/./b//", "~/.banger-work/x", "/root", "~//0", "~//../x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rel, err := guestRel(s)
		if err != nil {
			return
		}
		full := path.Join("/root", rel)
		switch {
		case rel == "" || path.IsAbs(rel) || path.Clean(rel) != rel:
			t.Errorf("guestRel(%q) = %q, not a clean relative path", s, rel)
		case !strings.HasPrefix(full, "/root/"):
			t.Errorf("guestRel(%q) = %q, which is not under /root", s, rel)
		case strings.ContainsRune(rel, 0):
			t.Errorf("guestRel(%q) kept a NUL byte", s)
		case strings.Split(rel, "/")[0] == WorkMarker:
			t.Errorf("guestRel(%q) accepted the reserved %s", s, WorkMarker)
		case (config.FileSync{Guest: s}).GuestPath() != full:
			t.Errorf("guestRel(%q) = %q, but config reads it as %q", s, rel, config.FileSync{Guest: s}.GuestPath())
		}
	})
}
