package tarcopy

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"banger/internal/errdefs"
)

var roomy = Options{Limits: Limits{MaxBytes: 1 << 30, MaxEntries: 1 << 20}, Where: "on the host"}

// tree makes a small tree with modes, links and an unwritable directory.
func tree(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	must(t, os.Mkdir(src, 0o750))
	must(t, os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "secret"), []byte("s3cret"), 0o600))
	must(t, os.Mkdir(filepath.Join(src, "ro"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "ro", "f"), bytes.Repeat([]byte("x"), 100_000), 0o644))
	must(t, os.Chmod(filepath.Join(src, "ro"), 0o555))
	must(t, os.Symlink("run.sh", filepath.Join(src, "rel")))
	must(t, os.Symlink("/etc/passwd", filepath.Join(src, "abs")))
	must(t, os.Symlink("nowhere", filepath.Join(src, "dangling")))
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	must(t, os.Chtimes(filepath.Join(src, "secret"), old, old))
	t.Cleanup(func() { os.Chmod(filepath.Join(src, "ro"), 0o755) })
	return src
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func copyTo(t *testing.T, src, dest string) error {
	t.Helper()
	var buf bytes.Buffer
	must(t, Write(&buf, Source{Path: src}))
	_, err := Extract(&buf, dest, roomy)
	return err
}

func TestRoundTripKeepsModesLinksAndTimes(t *testing.T) {
	src := tree(t)
	dest := filepath.Join(t.TempDir(), "copy")
	must(t, copyTo(t, src, dest))
	t.Cleanup(func() { os.Chmod(filepath.Join(dest, "ro"), 0o755) })
	for name, want := range map[string]fs.FileMode{"": fs.ModeDir | 0o750, "run.sh": 0o755, "secret": 0o600, "ro": fs.ModeDir | 0o555, "ro/f": 0o644} {
		fi, err := os.Lstat(filepath.Join(dest, name))
		must(t, err)
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode(), want)
		}
	}
	for name, want := range map[string]string{"rel": "run.sh", "abs": "/etc/passwd", "dangling": "nowhere"} {
		got, err := os.Readlink(filepath.Join(dest, name))
		if err != nil || got != want {
			t.Errorf("%s: link to %q (%v), want a link to %q", name, got, err, want)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dest, "ro", "f"))
	if len(b) != 100_000 {
		t.Errorf("ro/f has %d bytes, want 100000", len(b))
	}
	fi, _ := os.Stat(filepath.Join(dest, "secret"))
	if y := fi.ModTime().Year(); y != 2020 {
		t.Errorf("secret's mtime is in %d, want 2020", y)
	}
}

func TestPlacementFollowsDockerCp(t *testing.T) {
	src := tree(t)
	file := filepath.Join(src, "secret")
	cases := []struct {
		name, src, dest string // dest under a fresh dir holding dir/ and file
		want            string // path that must now exist, or "" for an error
		kind            errdefs.Kind
	}{
		{"file into a dir", file, "dir", "dir/secret", ""},
		{"file to a new name", file, "new", "new", ""},
		{"file over a file", file, "file", "file", ""},
		{"file to a missing dir/", file, "nodir/", "", errdefs.KindNotFound},
		{"file under a missing parent", file, "no/such", "", errdefs.KindNotFound},
		{"dir to a new name", src, "new", "new/ro/f", ""},
		{"dir into a dir", src, "dir", "dir/src/ro/f", ""},
		{"dir contents into a dir", src + "/.", "dir", "dir/ro/f", ""},
		{"dir onto a file", src, "file", "", errdefs.KindInvalidArgument},
		{"a link, not its target", filepath.Join(src, "rel"), "dir", "dir/rel", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			must(t, os.Mkdir(filepath.Join(base, "dir"), 0o755))
			must(t, os.WriteFile(filepath.Join(base, "file"), nil, 0o644))
			t.Cleanup(func() {
				filepath.WalkDir(base, func(p string, _ fs.DirEntry, _ error) error { os.Chmod(p, 0o755); return nil })
			})
			err := copyTo(t, c.src, base+"/"+c.dest)
			if c.want == "" {
				if err == nil || errdefs.KindOf(err) != c.kind {
					t.Fatalf("got %v, want an error of kind %s", err, c.kind)
				}
				return
			}
			must(t, err)
			if _, err := os.Lstat(filepath.Join(base, c.want)); err != nil {
				t.Errorf("%s is missing after the copy: %v", c.want, err)
			}
		})
	}
}

// hostile builds a stream entry by entry.
type entry struct {
	name, link string
	typ        byte
	body       string
}

func hostile(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o755, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		must(t, tw.WriteHeader(h))
		tw.Write([]byte(e.body))
	}
	must(t, tw.Close())
	return &buf
}

func TestExtractRefusesEscapes(t *testing.T) {
	top := entry{name: "top/", typ: tar.TypeDir}
	cases := map[string][]entry{
		"dot-dot":              {top, {name: "top/../../evil", typ: tar.TypeReg, body: "x"}},
		"absolute":             {top, {name: "/evil", typ: tar.TypeReg, body: "x"}},
		"beside the top":       {top, {name: "other/evil", typ: tar.TypeReg, body: "x"}},
		"through a link out":   {top, {name: "top/l", link: "/OUT", typ: tar.TypeSymlink}, {name: "top/l/evil", typ: tar.TypeReg, body: "x"}},
		"through a link up":    {top, {name: "top/l", link: "..", typ: tar.TypeSymlink}, {name: "top/l/evil", typ: tar.TypeReg, body: "x"}},
		"a hard link":          {top, {name: "top/h", link: "/OUT/evil", typ: tar.TypeLink}},
		"a device":             {top, {name: "top/dev", typ: tar.TypeChar}},
		"a top with a slash":   {{name: "a/b", typ: tar.TypeReg, body: "x"}},
		"a top going up":       {{name: "../evil", typ: tar.TypeReg, body: "x"}},
		"a file over the link": {top, {name: "top/l", link: "/OUT/evil", typ: tar.TypeSymlink}, {name: "top/l", typ: tar.TypeReg, body: "x"}},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			out := filepath.Join(base, "OUT")
			must(t, os.Mkdir(out, 0o755))
			dest := filepath.Join(base, "in", "dest")
			must(t, os.MkdirAll(dest, 0o755))
			for i := range entries {
				if entries[i].link != "" && entries[i].link[0] == '/' {
					entries[i].link = filepath.Join(out, entries[i].link[len("/OUT"):])
				}
			}
			_, err := Extract(hostile(t, entries...), dest, roomy)
			if name == "a file over the link" {
				must(t, err) // the link is replaced, not written through
			} else if errdefs.KindOf(err) != errdefs.KindInvalidArgument {
				t.Errorf("got %v, want a refusal", err)
			}
			for _, p := range []string{filepath.Join(out, "evil"), filepath.Join(base, "evil"), filepath.Join(base, "in", "evil")} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written outside the destination", p)
				}
			}
		})
	}
}

func TestExtractRefusesWritingThroughAnExistingLink(t *testing.T) {
	base := t.TempDir()
	out := filepath.Join(base, "out")
	must(t, os.Mkdir(out, 0o755))
	dest := filepath.Join(base, "dest")
	must(t, os.Mkdir(dest, 0o755))
	must(t, os.Symlink(out, filepath.Join(dest, "top")))
	_, err := Extract(hostile(t, entry{name: "top/", typ: tar.TypeDir}, entry{name: "top/evil", typ: tar.TypeReg, body: "x"}), dest, roomy)
	if err == nil {
		t.Fatal("a stream wrote through a link already in the destination")
	}
	if _, err := os.Lstat(filepath.Join(out, "evil")); err == nil {
		t.Error("out/evil was written through the link")
	}
}

func TestExtractStopsBombs(t *testing.T) {
	big := entry{name: "top/big", typ: tar.TypeReg, body: string(bytes.Repeat([]byte("b"), 2<<20))}
	opts := Options{Limits: Limits{MaxBytes: 1 << 20, MaxEntries: 100}, Where: "on the host"}
	dest := filepath.Join(t.TempDir(), "d")
	_, err := Extract(hostile(t, entry{name: "top/", typ: tar.TypeDir}, big), dest, opts)
	if !errors.Is(err, ErrNoSpace) {
		t.Errorf("a 2 MiB file under a 1 MiB limit: got %v, want ErrNoSpace", err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "big")); err == nil && fi.Size() > 0 {
		t.Errorf("the bomb wrote %d bytes before it was stopped", fi.Size())
	}
	many := []entry{{name: "top/", typ: tar.TypeDir}}
	for i := range 200 {
		many = append(many, entry{name: "top/" + string(rune('a'+i%26)) + string(rune('a'+i/26)), typ: tar.TypeDir})
	}
	_, err = Extract(hostile(t, many...), filepath.Join(t.TempDir(), "d"), opts)
	if !errors.Is(err, ErrNoSpace) {
		t.Errorf("200 entries under a limit of 100: got %v, want ErrNoSpace", err)
	}
}

func TestExtractDropsSetuidUnlessKept(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	must(t, tw.WriteHeader(&tar.Header{Name: "su", Typeflag: tar.TypeReg, Mode: 0o4755, Size: 1}))
	tw.Write([]byte("x"))
	tw.Close()
	for _, keep := range []bool{false, true} {
		dest := filepath.Join(t.TempDir(), "su")
		opts := roomy
		opts.KeepSpecialBits = keep
		_, err := Extract(bytes.NewReader(buf.Bytes()), dest, opts)
		must(t, err)
		fi, _ := os.Stat(dest)
		if got := fi.Mode()&fs.ModeSetuid != 0; got != keep {
			t.Errorf("KeepSpecialBits %v: setuid %v", keep, got)
		}
	}
}

func TestWriteRefusesPipes(t *testing.T) {
	src := tree(t)
	must(t, unix.Mkfifo(filepath.Join(src, "fifo"), 0o644))
	err := Write(&bytes.Buffer{}, Source{Path: src})
	if errdefs.KindOf(err) != errdefs.KindInvalidArgument || !bytes.Contains([]byte(err.Error()), []byte("fifo is a named pipe")) {
		t.Errorf("got %v, want a refusal naming the pipe", err)
	}
}

func TestMissingSourceIsNotFound(t *testing.T) {
	err := Write(&bytes.Buffer{}, Source{Path: filepath.Join(t.TempDir(), "nope")})
	if errdefs.KindOf(err) != errdefs.KindNotFound {
		t.Errorf("got %v, want not found", err)
	}
}

func TestLimitsForAFreshDestination(t *testing.T) {
	lim, err := LimitsFor(filepath.Join(t.TempDir(), "not-yet"))
	if err != nil || lim.MaxBytes < 0 || lim.MaxEntries <= 0 {
		t.Errorf("LimitsFor = %+v, %v", lim, err)
	}
	if _, err := LimitsFor("/no/such/dir/x"); err == nil {
		t.Error("LimitsFor under a missing directory gave no error")
	}
}
