package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"banger/internal/errdefs"
)

// entry is one tar member for test layers.
type entry struct {
	name string
	typ  byte
	mode int64
	body string
	link string
}

func file(name string, mode int64, body string) entry {
	return entry{name: name, typ: tar.TypeReg, mode: mode, body: body}
}
func dir(name string) entry             { return entry{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, target string) entry { return entry{name: name, typ: tar.TypeSymlink, link: target} }
func hardlink(name, target string) entry {
	return entry{name: name, typ: tar.TypeLink, link: target}
}

// layerTar builds an uncompressed layer.
func layerTar(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link,
			Size: int64(len(e.body)), ModTime: time.Unix(1700000000, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// flattenLayers applies layers onto a fresh tree and returns its path.
func flattenLayers(t *testing.T, layers ...[]byte) (string, error) {
	t.Helper()
	root := t.TempDir()
	return root, flattenInto(t, root, 0, layers...)
}

// flattenInto applies layers onto the tree at root with an unpack limit
// (0 for the default).
func flattenInto(t *testing.T, root string, maxBytes int64, layers ...[]byte) error {
	t.Helper()
	fl, err := newFlattener(root, maxBytes, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.close()
	for _, l := range layers {
		if err := fl.applyLayer(context.Background(), bytes.NewReader(l)); err != nil {
			return err
		}
	}
	return fl.finish()
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestFlattenAppliesWhiteouts(t *testing.T) {
	lower := layerTar(t, dir("etc/"), file("etc/a", 0o644, "a"), file("etc/b", 0o644, "b"),
		dir("dir/"), file("dir/x", 0o644, "x"), dir("dir/sub/"), file("dir/sub/old", 0o644, "old"))
	upper := layerTar(t, file("etc/.wh.a", 0, ""), dir("dir/"), dir("dir/sub/"),
		file("dir/sub/new", 0o644, "new"), file("dir/.wh..wh..opq", 0, ""), file("dir/z", 0o644, "z"))
	root, err := flattenLayers(t, lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, filepath.Join(root, "etc")); !slices.Equal(got, []string{"b"}) {
		t.Errorf("/etc = %v, want [b]", got)
	}
	if got := names(t, filepath.Join(root, "dir")); !slices.Equal(got, []string{"sub", "z"}) {
		t.Errorf("/dir = %v, want [sub z]", got)
	}
	if got := names(t, filepath.Join(root, "dir/sub")); !slices.Equal(got, []string{"new"}) {
		t.Errorf("/dir/sub = %v, want [new]: the opaque marker must hide lower content below kept dirs", got)
	}
}

func TestFlattenKeepsModesLinksAndReplacements(t *testing.T) {
	lower := layerTar(t, file("bin/tool", 0o755, "#!"), file("usr/bin/su", 0o4755, "su"),
		symlink("bin/sh", "tool"), hardlink("bin/tool2", "bin/tool"), file("etc/conf", 0o644, "old"),
		dir("var/"), dir("var/run/"), file("var/run/stale", 0o644, ""))
	upper := layerTar(t, file("etc/conf", 0o600, "new"), symlink("var/run", "/run"))
	root, err := flattenLayers(t, lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{"bin/tool": 0o755, "usr/bin/su": 0o755 | os.ModeSetuid, "etc/conf": 0o600} {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (os.ModePerm | os.ModeSetuid); got != want {
			t.Errorf("%s mode = %v, want %v", p, got, want)
		}
	}
	if got, err := os.Readlink(filepath.Join(root, "bin/sh")); err != nil || got != "tool" {
		t.Errorf("bin/sh -> %q, %v; want tool", got, err)
	}
	a, _ := os.Stat(filepath.Join(root, "bin/tool"))
	b, _ := os.Stat(filepath.Join(root, "bin/tool2"))
	if !os.SameFile(a, b) {
		t.Error("bin/tool2 is not a hard link to bin/tool")
	}
	if body, _ := os.ReadFile(filepath.Join(root, "etc/conf")); string(body) != "new" {
		t.Errorf("etc/conf = %q, want the upper layer's content", body)
	}
	if got, err := os.Readlink(filepath.Join(root, "var/run")); err != nil || got != "/run" {
		t.Errorf("var/run -> %q, %v; want a symlink replacing the directory", got, err)
	}
}

func TestFlattenRefusesEscapes(t *testing.T) {
	for name, layer := range map[string][]byte{
		"dot-dot":  layerTar(t, file("../evil", 0o644, "x")),
		"nested":   layerTar(t, dir("a/"), file("a/../../evil", 0o644, "x")),
		"hardlink": layerTar(t, hardlink("passwd", "../../../etc/passwd")),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := flattenLayers(t, layer)
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("err = %v, want an invalid-argument error", err)
			}
		})
	}
}

func TestFlattenKeepsSymlinkTargetsInsideTree(t *testing.T) {
	outside := t.TempDir()
	layer := layerTar(t, symlink("abs", outside), symlink("rel", "../../../../.."+outside),
		file("abs/one", 0o644, "1"), file("rel/two", 0o644, "2"))
	root, err := flattenLayers(t, layer)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, outside); len(got) != 0 {
		t.Fatalf("files escaped the tree into %s: %v", outside, got)
	}
	for _, p := range []string{"one", "two"} {
		if _, err := os.Stat(filepath.Join(root, outside, p)); err != nil {
			t.Errorf("%s not written inside the tree: %v", p, err)
		}
	}
}
