package atomicfile

import (
	"os"
	"path/filepath"
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
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*.tmp*"))
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
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
