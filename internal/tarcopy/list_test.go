package tarcopy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// A list stream into an existing directory writes what it lists, over
// what is there, and leaves everything else alone.
func TestWriteListUpdatesInPlace(t *testing.T) {
	src := tree(t)
	dst := filepath.Join(t.TempDir(), "dst")
	must(t, os.MkdirAll(filepath.Join(dst, "ro"), 0o755))
	must(t, os.WriteFile(filepath.Join(dst, "run.sh"), []byte("edited in the guest\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dst, "guest-only"), []byte("kept\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dst, "secret"), []byte("not listed\n"), 0o644))
	var buf bytes.Buffer
	err := WriteList(&buf, src, []Entry{
		{Name: "rel", Path: filepath.Join(src, "rel")},
		{Name: "ro", Path: filepath.Join(src, "ro")},
		{Name: "ro/f", Path: filepath.Join(src, "ro", "f")},
		{Name: "run.sh", Path: filepath.Join(src, "run.sh")},
		{Name: "vanished", Path: filepath.Join(src, "vanished")},
	})
	must(t, err)
	if _, err := Extract(&buf, dst, roomy); err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]string{
		"run.sh": "#!/bin/sh\necho hi\n", "guest-only": "kept\n", "secret": "not listed\n",
		"ro/f": string(bytes.Repeat([]byte("x"), 100_000)),
	} {
		if got, err := os.ReadFile(filepath.Join(dst, rel)); err != nil || string(got) != want {
			t.Errorf("%s holds %.40q (%v), want %.40q", rel, got, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dst, "run.sh")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("run.sh: %v, %v; want mode 755", fi, err)
	}
	if link, err := os.Readlink(filepath.Join(dst, "rel")); err != nil || link != "run.sh" {
		t.Errorf("rel links to %q (%v), want run.sh", link, err)
	}
}

func TestWriteListRefusesNamesOutsideTheTop(t *testing.T) {
	src := tree(t)
	for _, name := range []string{"../x", "/etc/passwd", "."} {
		if err := WriteList(&bytes.Buffer{}, src, []Entry{{Name: name, Path: filepath.Join(src, "run.sh")}}); err == nil {
			t.Errorf("WriteList took the name %q", name)
		}
	}
}
