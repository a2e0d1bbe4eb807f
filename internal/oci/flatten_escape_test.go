package oci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
			if err := flattenInto(t, s.root, 0, layers(s)...); err != nil {
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
			err := flattenInto(t, s.root, 0, layer)
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
			if err := flattenInto(t, s.root, 0, layers(s)...); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			s.untouched(t)
		})
	}
}

// bomb is a gzip layer holding one file of n zero bytes.
func bomb(t *testing.T, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: n}); err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(zeros)) {
		if _, err := tw.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFlattenStopsACompressionBomb(t *testing.T) {
	const limit = 8 << 20
	layer := bomb(t, 64<<20)
	if len(layer) > limit/100 {
		t.Fatalf("the bomb is %d bytes compressed: not a bomb", len(layer))
	}
	root := t.TempDir()
	err := flattenInto(t, root, limit, layer)
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "unpacks past 8M") {
		t.Fatalf("err = %v, want an invalid-argument error saying the layer unpacks past 8M", err)
	}
	if fi, err := os.Stat(filepath.Join(root, "zeros")); err == nil && fi.Size() > limit {
		t.Fatalf("wrote %d bytes past the %d byte limit", fi.Size(), limit)
	}
}

func TestFlattenStopsTrailingGarbageAtTheLimit(t *testing.T) {
	// A tar end followed by endless zeros: no entry is written, but
	// decompression must still stop.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(make([]byte, 32<<20))
	zw.Close()
	err := flattenInto(t, t.TempDir(), 1<<20, buf.Bytes())
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "unpacks past 1M") {
		t.Fatalf("err = %v, want the unpack limit", err)
	}
}

// paxRecord is one "LEN key=value\n" record, LEN counting itself.
func paxRecord(k, v string) string {
	n := len(k) + len(v) + 3
	for n < len(strconv.Itoa(n))+len(k)+len(v)+3 {
		n++
	}
	return strconv.Itoa(n) + " " + k + "=" + v + "\n"
}

// sparseLayer is a tar holding a PAX 1.0 sparse file of logical size size
// with one byte of data at its end. archive/tar writes no sparse files, so
// the extended header is written as a file and retyped.
func sparseLayer(t *testing.T, name string, size int64) []byte {
	t.Helper()
	recs := paxRecord("GNU.sparse.major", "1") + paxRecord("GNU.sparse.minor", "0") +
		paxRecord("GNU.sparse.name", name) + paxRecord("GNU.sparse.realsize", strconv.FormatInt(size, 10))
	smap := fmt.Sprintf("1\n%d\n1\n", size-1)
	data := smap + strings.Repeat("\x00", 512-len(smap)) + "x"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range []struct{ name, body string }{{"PaxHeaders/" + name, recs}, {"GNUSparseFile.0/" + name, data}} {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(e.body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	out := buf.Bytes()
	out[156] = tar.TypeXHeader
	copy(out[148:156], "        ")
	sum := 0
	for _, c := range out[:512] {
		sum += int(c)
	}
	copy(out[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return out
}

func TestFlattenStopsSparseFilesAtTheLimit(t *testing.T) {
	// One byte of data after a 1 TiB hole: nothing to send, everything to
	// write.
	root := t.TempDir()
	err := flattenInto(t, root, 1<<20, sparseLayer(t, "holes", 1<<40))
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), `entry "holes"`) {
		t.Fatalf("err = %v, want the unpack limit on entry holes", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "holes")); err == nil {
		t.Fatal("the sparse file past the limit was written")
	}
	// A small sparse file is written whole.
	if err := flattenInto(t, root, 1<<20, sparseLayer(t, "small", 4096)); err != nil {
		t.Fatal(err)
	}
	if body, err := os.ReadFile(filepath.Join(root, "small")); err != nil || len(body) != 4096 || body[4095] != 'x' {
		t.Fatalf("small sparse file: %d bytes, %v", len(body), err)
	}
}

func TestFlattenRefusesOversizedEntries(t *testing.T) {
	// The header's size is the file's logical size, sparse holes included;
	// it is checked before anything is written.
	layer := layerTar(t, file("small", 0o644, strings.Repeat("x", 600<<10)), file("big", 0o644, strings.Repeat("x", 600<<10)))
	root := t.TempDir()
	err := flattenInto(t, root, 1<<20, layer)
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), `entry "big"`) {
		t.Fatalf("err = %v, want the unpack limit on entry big", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "big")); err == nil {
		t.Fatal("the entry past the limit was written")
	}
}

func TestFlattenCapsEntries(t *testing.T) {
	fl, err := newFlattener(t.TempDir(), 0, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	defer fl.close()
	fl.budget.maxEntries = 3
	err = fl.applyLayer(t.Context(), bytes.NewReader(layerTar(t, dir("a/"), dir("b/"), dir("c/"), dir("d/"))))
	if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "more than 3 entries") {
		t.Fatalf("err = %v, want the entry limit", err)
	}
}
