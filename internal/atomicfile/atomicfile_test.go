package atomicfile

import (
	"errors"
	"go/build"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteReplacesOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "token")
	for _, data := range []string{"first\n", "second\n"} {
		if err := Write(path, []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Fatalf("after writing %q the file holds %q (%v)", data, got, err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	assertNoTemps(t, filepath.Dir(path))
}

func TestWriteFailureKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	if err := Write(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	// A directory in the target's place makes the rename fail.
	if err := Write(filepath.Join(dir, "config", "x"), []byte("new")); err == nil {
		t.Fatal("writing under a file succeeded")
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("the old file holds %q after a failed write", got)
	}
}

func TestWriteFromStreams(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bundle")
	err := WriteFrom(path, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, strings.NewReader(strings.Repeat("x", 1<<20)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != 1<<20 {
		t.Fatalf("after WriteFrom: %v, %v; want 1 MiB", fi, err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}

	failed := errors.New("the stream broke")
	err = WriteFrom(path, 0o644, func(w io.Writer) error {
		io.WriteString(w, "half")
		return failed
	})
	if !errors.Is(err, failed) {
		t.Errorf("WriteFrom with a failing fill = %v, want its error", err)
	}
	if fi, _ := os.Stat(path); fi == nil || fi.Size() != 1<<20 {
		t.Errorf("a failed WriteFrom changed the file: %v", fi)
	}
	assertNoTemps(t, dir)
}

func TestMakeByName(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "disk.ext4")
	// A program replacing the file it is given, as mkfs or cp may.
	err := Make(path, func(tmp string) error {
		if err := os.Remove(tmp); err != nil {
			return err
		}
		return os.WriteFile(tmp, []byte("filesystem"), 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); string(got) != "filesystem" {
		t.Fatalf("after Make the file holds %q (%v)", got, err)
	}
	failed := errors.New("mkfs failed")
	err = Make(path, func(tmp string) error {
		os.WriteFile(tmp, []byte("half"), 0o600)
		return failed
	})
	if !errors.Is(err, failed) {
		t.Errorf("Make with a failing fill = %v, want its error", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "filesystem" {
		t.Errorf("a failed Make left %q", got)
	}
	assertNoTemps(t, dir)
}

func TestCommit(t *testing.T) {
	dir := t.TempDir()
	tmp, path := filepath.Join(dir, "out.tmp"), filepath.Join(dir, "out")
	if err := Commit(tmp, path); err == nil {
		t.Error("Commit of a missing file succeeded")
	}
	if err := os.WriteFile(tmp, []byte("image"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Commit(tmp, path); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "image" {
		t.Errorf("after Commit the file holds %q", got)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is still there after Commit: %v", tmp, err)
	}
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// The mode asked for is the mode the file gets, whatever the umask, as the
// guest agent needs for /etc/hosts and /etc/machine-id.
func TestWriteFileModeIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "machine-id")
	if err := WriteFile(path, []byte("id\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o444 {
		t.Errorf("after WriteFile with 0444 under umask 077: %v, %v", fi, err)
	}
}

func TestWriteFileLaterReplacesWithTheMode(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "hostname")
	for _, data := range []string{"template\n", "clone-1\n"} {
		if err := WriteFileLater(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Fatalf("after writing %q the file holds %q (%v)", data, got, err)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("after WriteFileLater with 0644 under umask 077: %v, %v", fi, err)
	}
	if err := WriteFileLater(filepath.Join(path, "x"), []byte("new"), 0o644); err == nil {
		t.Error("writing under a file succeeded")
	}
	assertNoTemps(t, dir)
}

// The guest agent uses this package: it must stay a leaf on the standard
// library.
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") || first == "banger" {
			t.Errorf("atomicfile imports %s, outside the standard library", imp)
		}
	}
}
