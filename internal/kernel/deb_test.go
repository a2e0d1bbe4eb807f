package kernel

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

func writeDeb(t *testing.T, entries []tarEntry) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.deb")
	if err := os.WriteFile(path, makeDeb(t, entries), 0o644); err != nil {
		t.Fatalf("writing deb: %v", err)
	}
	return path
}

func TestExtractDebKeepsSelectedEntries(t *testing.T) {
	deb := writeDeb(t, []tarEntry{
		dir("./"), dir("./boot/"),
		file("./boot/vmlinuz-1", "kernel"),
		file("./usr/share/doc/changelog", "skip me"),
		dir("./lib/modules/1/kernel/"),
		file("./lib/modules/1/kernel/a.ko", "module"),
		symlink("./lib/modules/1/build", "/usr/src/linux-headers-1"),
	})
	dest := t.TempDir()
	keep := func(name string) bool { return !strings.HasPrefix(name, "usr/") }
	if err := ExtractDeb(deb, dest, keep); err != nil {
		t.Fatalf("ExtractDeb: %v", err)
	}
	for name, want := range map[string]string{"boot/vmlinuz-1": "kernel", "lib/modules/1/kernel/a.ko": "module"} {
		got, err := os.ReadFile(filepath.Join(dest, name))
		if err != nil || string(got) != want {
			t.Fatalf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dest, "usr")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("usr/ was extracted though keep refused it (stat: %v)", err)
	}
	if link, err := os.Readlink(filepath.Join(dest, "lib/modules/1/build")); err != nil || link != "/usr/src/linux-headers-1" {
		t.Fatalf("build symlink = %q, %v; want the absolute target kept as a link", link, err)
	}
}

func TestExtractDebRefusesEscapingPath(t *testing.T) {
	parent := t.TempDir()
	dest := filepath.Join(parent, "dest")
	deb := writeDeb(t, []tarEntry{file("./../evil", "x")})
	err := ExtractDeb(deb, dest, func(string) bool { return true })
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "escapes") {
		t.Fatalf("ExtractDeb = %v, want a refusal of the escaping path", err)
	}
	if _, err := os.Stat(filepath.Join(parent, "evil")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("escaping entry was written (stat: %v)", err)
	}
}

func TestExtractDebNeverWritesThroughSymlink(t *testing.T) {
	outside := t.TempDir()
	deb := writeDeb(t, []tarEntry{
		symlink("./lib", outside),
		file("./lib/planted", "x"),
	})
	err := ExtractDeb(deb, t.TempDir(), func(string) bool { return true })
	if err == nil {
		t.Fatal("ExtractDeb wrote through a symlink pointing out of the destination")
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file planted outside the destination (stat: %v)", err)
	}
}

func TestExtractDebRejectsNonDeb(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.deb")
	if err := os.WriteFile(path, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := ExtractDeb(path, t.TempDir(), func(string) bool { return true })
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("ExtractDeb(non-deb) = %v, want invalid argument", err)
	}
}
