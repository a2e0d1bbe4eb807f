package oci

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"banger/internal/errdefs"
)

// sandbox is a scratch tree with a sibling directory, outside it, that
// flattening must leave exactly as it was.
type sandbox struct {
	root   string // the tree layers are flattened into
	victim string // a directory outside the tree
}

const victimMode = 0o750

var victimTime = time.Unix(1600000000, 0)

func newSandbox(t *testing.T) sandbox {
	t.Helper()
	base := t.TempDir()
	s := sandbox{root: filepath.Join(base, "tree"), victim: filepath.Join(base, "victim")}
	for _, d := range []string{s.root, s.victim, filepath.Join(s.victim, "sub")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.victim, "secret"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{s.victim, filepath.Join(s.victim, "sub")} {
		if err := os.Chmod(d, victimMode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(d, victimTime, victimTime); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// untouched fails the test if anything outside the tree changed.
func (s sandbox) untouched(t *testing.T) {
	t.Helper()
	base := filepath.Dir(s.root)
	if got := strings.Join(names(t, base), " "); got != "tree victim" {
		t.Errorf("%s holds %q, want only the tree and the victim", base, got)
	}
	if got := strings.Join(names(t, s.victim), " "); got != "secret sub" {
		t.Errorf("victim holds %q, want secret and sub", got)
	}
	for _, d := range []string{s.victim, filepath.Join(s.victim, "sub")} {
		fi, err := os.Lstat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != os.ModeDir|victimMode || !fi.ModTime().Equal(victimTime) {
			t.Errorf("%s is %v, modified %v; want %v, %v: flattening changed a directory outside the tree",
				d, fi.Mode(), fi.ModTime(), os.ModeDir|victimMode, victimTime)
		}
	}
	p := filepath.Join(s.victim, "secret")
	body, err := os.ReadFile(p)
	fi, _ := os.Lstat(p)
	if err != nil || string(body) != "secret" || fi.Mode() != 0o600 || nlink(fi) != 1 {
		t.Errorf("%s is %q (%v, %v), want it untouched with one link", p, body, fi.Mode(), err)
	}
}

func nlink(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 0
}

// openDir is a directory entry that anyone may write to.
func openDir(name string) entry { return entry{name: name, typ: tar.TypeDir, mode: 0o777} }

func TestFlattenNeverChmodsThroughAReplacedDirectory(t *testing.T) {
	for name, layers := range map[string]func(s sandbox) [][]byte{
		// finish() remembered x/victim; x then became a link to the victim's
		// parent, so x/victim resolved to the victim.
		"two layers": func(s sandbox) [][]byte {
			return [][]byte{
				layerTar(t, dir("x/"), openDir("x/victim/"), openDir("x/victim/sub/")),
				layerTar(t, symlink("x", filepath.Dir(s.victim))),
			}
		},
		"one layer": func(s sandbox) [][]byte {
			return [][]byte{layerTar(t, dir("x/"), openDir("x/victim/"), openDir("x/victim/sub/"),
				symlink("x", "../../"+filepath.Base(filepath.Dir(s.victim))))}
		},
		"whiteout then link": func(s sandbox) [][]byte {
			return [][]byte{
				layerTar(t, dir("x/"), openDir("x/victim/")),
				layerTar(t, file(".wh.x", 0, "")),
				layerTar(t, symlink("x", filepath.Dir(s.victim))),
			}
		},
		"the directory itself": func(s sandbox) [][]byte {
			return [][]byte{layerTar(t, openDir("v/"), symlink("v", s.victim))}
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := newSandbox(t)
			if err := flattenInto(t, s.root, layers(s)...); err != nil {
				t.Fatal(err)
			}
			s.untouched(t)
		})
	}
}

func TestFlattenForgetsReplacedDirectories(t *testing.T) {
	// a/b is recorded as 0700, then a becomes a link to c/d, whose b is
	// 0755: the record for a/b must not land on c/d/b.
	lower := layerTar(t, dir("a/"), entry{name: "a/b/", typ: tar.TypeDir, mode: 0o700})
	upper := layerTar(t, dir("c/"), dir("c/d/"), dir("c/d/b/"), symlink("a", "c/d"))
	root, err := flattenLayers(t, lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(root, "c/d/b"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("c/d/b = %v, %v; want 0755, its own mode", fi.Mode(), err)
	}
}

func TestFlattenRefusesWhiteoutsOfTheDirectoryOrItsParent(t *testing.T) {
	for _, name := range []string{".wh..", ".wh...", ".wh.", "a/.wh..", "a/.wh...", "a/b/.wh..."} {
		t.Run(name, func(t *testing.T) {
			s := newSandbox(t)
			layer := layerTar(t, dir("a/"), dir("a/b/"), file("a/keep", 0o644, "k"), file(name, 0, ""))
			err := flattenInto(t, s.root, layer)
			s.untouched(t)
			if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), `entry "`+name+`"`) {
				t.Fatalf("err = %v, want an invalid-argument error naming the entry", err)
			}
			if _, err := os.Stat(filepath.Join(s.root, "a/keep")); err != nil {
				t.Errorf("the whiteout removed files of the tree: %v", err)
			}
		})
	}
}

func TestFlattenLinksOutOfTheTreeWriteInside(t *testing.T) {
	for name, layers := range map[string]func(s sandbox) [][]byte{
		"file over a symlink": func(s sandbox) [][]byte {
			secret := filepath.Join(s.victim, "secret")
			return [][]byte{layerTar(t, symlink("s", secret)), layerTar(t, file("s", 0o777, "pwned"))}
		},
		"file over a hard link to a symlink": func(s sandbox) [][]byte {
			secret := filepath.Join(s.victim, "secret")
			return [][]byte{layerTar(t, symlink("s", secret), hardlink("h", "s")), layerTar(t, file("h", 0o777, "pwned"))}
		},
		"file below a symlinked directory": func(s sandbox) [][]byte {
			return [][]byte{layerTar(t, symlink("d", s.victim), symlink("r", "../../../../../../"+s.victim),
				file("d/secret", 0o777, "pwned"), file("r/new", 0o644, "x"), openDir("d/sub/"), dir("r/made/"))}
		},
		"hard link through a symlinked directory": func(s sandbox) [][]byte {
			return [][]byte{layerTar(t, symlink("d", s.victim), file(strings.TrimPrefix(s.victim, "/")+"/secret", 0o644, "mine"),
				hardlink("h", "d/secret"), file("h", 0o777, "pwned"))}
		},
		"whiteouts and opaque below a symlinked directory": func(s sandbox) [][]byte {
			return [][]byte{layerTar(t, symlink("d", s.victim), symlink("r", "../../victim")),
				layerTar(t, file("d/.wh.secret", 0, ""), file("r/.wh.sub", 0, ""), file("d/.wh..wh..opq", 0, ""), file("r/.wh..wh..opq", 0, ""))}
		},
		"device node over a symlink": func(s sandbox) [][]byte {
			return [][]byte{layerTar(t, symlink("s", filepath.Join(s.victim, "secret")),
				entry{name: "s", typ: tar.TypeFifo, mode: 0o666})}
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := newSandbox(t)
			if err := flattenInto(t, s.root, layers(s)...); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			s.untouched(t)
		})
	}
}
