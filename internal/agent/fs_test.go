package agent

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

// fsHost is a multiplexed client to a guest whose home is a temp dir.
func fsHost(t *testing.T) (*agentclient.Mux, string) {
	t.Helper()
	opts := execOptions(t)
	opts.Home = t.TempDir()
	m, _ := muxHost(t, opts)
	return m, opts.Home
}

func wantKind(t *testing.T, what string, err error, kind errdefs.Kind, mention string) {
	t.Helper()
	if errdefs.KindOf(err) != kind || !strings.Contains(fmtErr(err), mention) {
		t.Errorf("%s: %v (%s); want %s mentioning %q", what, err, errdefs.KindOf(err), kind, mention)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestFSPathsLeadHome(t *testing.T) {
	m, home := fsHost(t)
	ctx := testCtx(t)
	if created, err := m.MakeDir(ctx, "~/a/b"); err != nil || !created {
		t.Fatalf("MakeDir ~/a/b = %v, %v; want created", created, err)
	}
	if created, err := m.MakeDir(ctx, filepath.Join(home, "a", "b")); err != nil || created {
		t.Errorf("MakeDir of an existing directory = %v, %v; want not created", created, err)
	}
	for p, want := range map[string]string{"~": home, "a/b": filepath.Join(home, "a/b"), "~/a/../a": filepath.Join(home, "a")} {
		fi, err := m.Stat(ctx, p)
		if err != nil || fi.Path != want || fi.Type != agentproto.TypeDir {
			t.Errorf("Stat %q = %+v, %v; want the directory %s", p, fi, err, want)
		}
	}
	_, err := m.Stat(ctx, "")
	wantKind(t, "Stat of an empty path", err, errdefs.KindInvalidArgument, "empty")
	_, err = m.Stat(ctx, "a\x00b")
	wantKind(t, "Stat of a path with NUL", err, errdefs.KindInvalidArgument, "NUL")
}

func TestFSStatDescribesAFile(t *testing.T) {
	m, home := fsHost(t)
	f := filepath.Join(home, "notes.txt")
	writeFile(t, f, "hello")
	if err := os.Chmod(f, os.ModeSetuid|0o750); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	os.Chtimes(f, mtime, mtime)
	me, _ := user.Current()
	fi, err := m.Stat(testCtx(t), f)
	if err != nil {
		t.Fatal(err)
	}
	want := agentproto.FileInfo{Name: "notes.txt", Path: f, Type: agentproto.TypeFile, Size: 5,
		Mode: uint32(os.ModeSetuid | 0o750), Permissions: "-rwsr-x---", Owner: me.Username, Modified: mtime}
	fi.Group, fi.Modified = "", fi.Modified.UTC()
	if fi != want {
		t.Errorf("Stat = %+v;\nwant %+v", fi, want)
	}
	os.Symlink("notes.txt", filepath.Join(home, "link"))
	if fi, err := m.Stat(testCtx(t), "link"); err != nil || fi.Type != agentproto.TypeSymlink || fi.SymlinkTarget != "notes.txt" || fi.Permissions[0] != 'l' {
		t.Errorf("Stat of a link = %+v, %v; want the link itself", fi, err)
	}
	_, err = m.Stat(testCtx(t), "missing")
	wantKind(t, "Stat of a missing file", err, errdefs.KindNotFound, filepath.Join(home, "missing"))
}

func TestFSListGoesDownDepthLevels(t *testing.T) {
	m, home := fsHost(t)
	for _, p := range []string{"b/x/deep", "b/y", "a", "c/z"} {
		writeFile(t, filepath.Join(home, "tree", p), p)
	}
	names := func(depth int) []string {
		files, err := m.ListDir(testCtx(t), "tree", depth)
		if err != nil {
			t.Fatalf("ListDir depth %d: %v", depth, err)
		}
		var out []string
		for _, f := range files {
			rel, _ := filepath.Rel(filepath.Join(home, "tree"), f.Path)
			if rel != filepath.Join(filepath.Dir(rel), f.Name) {
				t.Errorf("entry %+v: name and path disagree", f)
			}
			out = append(out, rel+":"+f.Type)
		}
		return out
	}
	if got, want := names(1), []string{"a:file", "b:dir", "c:dir"}; !slices.Equal(got, want) {
		t.Errorf("depth 1 = %q; want %q", got, want)
	}
	want := []string{"a:file", "b:dir", "b/x:dir", "b/x/deep:file", "b/y:file", "c:dir", "c/z:file"}
	if got := names(5); !slices.Equal(got, want) {
		t.Errorf("depth 5 = %q; want %q", got, want)
	}
	_, err := m.ListDir(testCtx(t), "tree/a", 1)
	wantKind(t, "ListDir of a file", err, errdefs.KindInvalidArgument, "not a directory")
	_, err = m.ListDir(testCtx(t), "nowhere", 1)
	wantKind(t, "ListDir of a missing directory", err, errdefs.KindNotFound, "nowhere")
	_, err = m.ListDir(testCtx(t), "tree", 0)
	wantKind(t, "ListDir at depth 0", err, errdefs.KindInvalidArgument, "depth")
}

func TestFSMkdirWhereAFileIs(t *testing.T) {
	m, home := fsHost(t)
	writeFile(t, filepath.Join(home, "file"), "x")
	_, err := m.MakeDir(testCtx(t), "file")
	wantKind(t, "MakeDir over a file", err, errdefs.KindAlreadyExists, "file")
	_, err = m.MakeDir(testCtx(t), "file/sub")
	wantKind(t, "MakeDir below a file", err, errdefs.KindInvalidArgument, "not a directory")
}

func TestFSMoveRenames(t *testing.T) {
	m, home := fsHost(t)
	writeFile(t, filepath.Join(home, "from"), "content")
	fi, err := m.Move(testCtx(t), "from", "~/to")
	if err != nil || fi.Path != filepath.Join(home, "to") || fi.Size != 7 {
		t.Fatalf("Move = %+v, %v", fi, err)
	}
	if _, err := os.Lstat(filepath.Join(home, "from")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the source is still there: %v", err)
	}
	writeFile(t, filepath.Join(home, "dir", "x"), "x")
	_, err = m.Move(testCtx(t), "to", "dir")
	wantKind(t, "Move onto a directory", err, errdefs.KindAlreadyExists, "dir")
	_, err = m.Move(testCtx(t), "gone", "other")
	wantKind(t, "Move of a missing file", err, errdefs.KindNotFound, "gone")
	_, err = m.Move(testCtx(t), "to", "")
	wantKind(t, "Move without a destination", err, errdefs.KindInvalidArgument, "destination")
}

func TestFSMoveAcrossFileSystemsCopies(t *testing.T) {
	rename = func(from, to string) error { return &os.LinkError{Op: "rename", Old: from, New: to, Err: unix.EXDEV} }
	t.Cleanup(func() { rename = os.Rename })
	m, home := fsHost(t)
	src, big := copyTree(t)
	mtime := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(filepath.Join(src, "sub"), mtime, mtime)
	if err := os.Chmod(filepath.Join(src, "sub"), 0o710); err != nil {
		t.Fatal(err)
	}
	fi, err := m.Move(testCtx(t), src, "moved")
	if err != nil || fi.Type != agentproto.TypeDir {
		t.Fatalf("Move across file systems = %+v, %v", fi, err)
	}
	dest := filepath.Join(home, "moved")
	checkTree(t, dest, big)
	if st, _ := os.Stat(filepath.Join(dest, "sub")); st.Mode().Perm() != 0o710 || !st.ModTime().Equal(mtime) {
		t.Errorf("sub is %v, %v; want 0710 and its time kept", st.Mode(), st.ModTime())
	}
	if _, err := os.Lstat(src); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the source is still there: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(home, ".*")); len(left) != 0 {
		t.Errorf("left behind: %q", left)
	}
}

func TestFSRemoveIsRecursive(t *testing.T) {
	m, home := fsHost(t)
	writeFile(t, filepath.Join(home, "tree", "a", "b"), "x")
	if err := m.Remove(testCtx(t), "tree"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(home, "tree")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tree is still there: %v", err)
	}
	if err := m.Remove(testCtx(t), "tree"); err != nil {
		t.Errorf("Remove of a missing path = %v; want nil, as rm -rf", err)
	}
	wantKind(t, "Remove of /", m.Remove(testCtx(t), "/"), errdefs.KindInvalidArgument, "root")
}
