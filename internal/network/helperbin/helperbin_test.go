package helperbin

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree makes TOP/bin/bangerd, root-owned and 0755 all the way, and
// returns TOP and the binary's path. Checks look no higher than TOP,
// since the temporary directory is under a world-writable one.
func tree(t *testing.T) (top, bin string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root, to make root-owned files")
	}
	top = t.TempDir()
	dir := filepath.Join(top, "bin")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, "bangerd")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{top, dir, bin} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return top, bin
}

func TestCheckAcceptsRootOwned(t *testing.T) {
	top, bin := tree(t)
	if err := checkBelow(bin, top); err != nil {
		t.Errorf("Check(%s) = %v, want nil for a root-owned binary in root-owned directories", bin, err)
	}
	link := filepath.Join(filepath.Dir(bin), "bangerd-link")
	if err := os.Symlink("bangerd", link); err != nil {
		t.Fatal(err)
	}
	if err := checkBelow(link, top); err != nil {
		t.Errorf("Check(%s) = %v, want nil for a link to a safe binary", link, err)
	}
}

func TestCheckRefuses(t *testing.T) {
	tests := []struct {
		name string
		make func(top, bin string) error
		at   func(top, bin string) string // the path the error must name
		want string
	}{
		{"binary of a user", func(_, bin string) error { return os.Chown(bin, 1000, 1000) },
			func(_, bin string) string { return bin }, "it is writable by uid 1000, its owner"},
		{"group-writable binary", func(_, bin string) error { return os.Chmod(bin, 0o775) },
			func(_, bin string) string { return bin }, "it is writable by group 0"},
		{"directory of a user", func(_, bin string) error { return os.Chown(filepath.Dir(bin), 1000, 1000) },
			func(_, bin string) string { return filepath.Dir(bin) }, "is writable by uid 1000"},
		{"world-writable directory above", func(top, _ string) error { return os.Chmod(top, 0o777) },
			func(top, _ string) string { return top }, "is writable by everyone"},
	}
	for _, tt := range tests {
		top, bin := tree(t)
		if err := tt.make(top, bin); err != nil {
			t.Fatal(err)
		}
		err := checkBelow(bin, top)
		var u *Unsafe
		if !errors.As(err, &u) || !errors.Is(err, ErrUnsafe) || u.Path != tt.at(top, bin) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "sudo make install") {
			t.Errorf("%s: Check = %v, want an Unsafe error at %s saying %q and how to install", tt.name, err, tt.at(top, bin), tt.want)
		}
	}
}

func TestCheckFollowsLinks(t *testing.T) {
	top, bin := tree(t)
	userDir := filepath.Join(top, "home")
	if err := os.Mkdir(userDir, 0o755); err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(userDir, "bangerd")
	if err := os.WriteFile(real, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(userDir, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, bin); err != nil {
		t.Fatal(err)
	}
	if err := checkBelow(bin, top); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), userDir+" is writable by uid 1000") {
		t.Errorf("Check of a root-owned link into a user's directory = %v, want an Unsafe error naming %s", err, userDir)
	}
}

func TestCheckNeedsAbsolutePath(t *testing.T) {
	if err := Check("bangerd"); err == nil || !strings.Contains(err.Error(), "not absolute") {
		t.Errorf("Check(bangerd) = %v, want an error saying it is not absolute", err)
	}
}
