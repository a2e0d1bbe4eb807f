package vmdisk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banger/internal/config"
	"banger/internal/errdefs"
)

// fakeTree writes files (slash path -> content) and claims size bytes.
type fakeTree struct {
	dir     string
	files   map[string]string
	size    int64 // extra bytes Entries claims, for the size check
	written bool
}

func (f *fakeTree) Dir() string { return f.dir }

func (f *fakeTree) Entries() []TreeEntry {
	var es []TreeEntry
	for rel, data := range f.files {
		es = append(es, TreeEntry{Rel: rel, Mode: 0o644, Size: int64(len(data))})
	}
	if f.size > 0 {
		es = append(es, TreeEntry{Rel: "big", Mode: 0o644, Size: f.size})
	}
	return es
}

func (f *fakeTree) Write(ctx context.Context, dir string) error {
	f.written = true
	for rel, data := range f.files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(data), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func TestBuildWorkWithTree(t *testing.T) {
	requireE2fsprogs(t)
	home := hostHome(t)
	tree := &fakeTree{dir: "my repo", files: map[string]string{"a.txt": "alpha\n", "src/b.sh": "echo b\n"}}
	o := workOptions(t, home, config.FileSync{Host: "~/.gitconfig", Guest: "~/.gitconfig"})
	o.Trees = []Tree{tree}
	if err := BuildWork(context.Background(), o); err != nil {
		t.Fatalf("BuildWork: %v", err)
	}
	if got := catDisk(t, o.Path, `"/my repo/a.txt"`); got != "alpha\n" {
		t.Errorf("/root/my repo/a.txt = %q", got)
	}
	if ino, ok := statDisk(t, o.Path, `"/my repo/src/b.sh"`); !ok || ino.Perm != 0o755 {
		t.Errorf("/root/my repo/src/b.sh: %+v, present %v; want mode 755", ino, ok)
	}
	if got := catDisk(t, o.Path, "/.gitconfig"); !strings.Contains(got, "Ada") {
		t.Errorf("file_sync entry lost beside a tree: %q", got)
	}
}

func TestBuildWorkRefusesTrees(t *testing.T) {
	requireE2fsprogs(t)
	home := hostHome(t)
	tests := []struct {
		name  string
		tree  *fakeTree
		sync  []config.FileSync
		wants []string
	}{
		{"too big", &fakeTree{dir: "repo", size: 200 << 20}, nil, []string{"does not fit", "copied repository", "--disk-size"}},
		{"file_sync inside", &fakeTree{dir: "repo"}, []config.FileSync{{Host: "~/.gitconfig", Guest: "~/repo/.gitconfig"}}, []string{"/root/repo", "file_sync entry 1"}},
		{"reserved", &fakeTree{dir: "lost+found"}, nil, []string{"reserved"}},
		{"not a name", &fakeTree{dir: "a/b"}, nil, []string{"cannot name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := workOptions(t, home, tt.sync...)
			o.Trees = []Tree{tt.tree}
			err := BuildWork(context.Background(), o)
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("BuildWork = %v, want an invalid argument", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tt.tree.written {
				t.Error("the tree was written although the disk was refused")
			}
			if got := dirNames(t, filepath.Dir(o.Path)); len(got) != 0 {
				t.Errorf("a failed BuildWork left %q behind", got)
			}
		})
	}
}

// A tree's entries count towards the size check like synced files do.
func TestTreeUsageCountsEntries(t *testing.T) {
	p := &workPlan{items: map[string]*item{}}
	before, beforeInodes := p.usage(4096)
	p.trees = []Tree{&fakeTree{dir: "r", files: map[string]string{"d/e/f": "x"}, size: 1 << 20}}
	after, afterInodes := p.usage(4096)
	if after-before < 256 || afterInodes-beforeInodes != 5 {
		t.Errorf("a tree of 1 MiB in 5 inodes added %d blocks and %d inodes", after-before, afterInodes-beforeInodes)
	}
}

// readOnlyTree writes a file in a directory it then makes read-only, as a
// copy of a repository with such a directory does.
type readOnlyTree struct{ fakeTree }

func (r *readOnlyTree) Write(ctx context.Context, dir string) error {
	if err := r.fakeTree.Write(ctx, dir); err != nil {
		return err
	}
	return os.Chmod(filepath.Join(dir, "ro"), 0o555)
}

func TestBuildWorkRemovesReadOnlyStaging(t *testing.T) {
	requireE2fsprogs(t)
	o := workOptions(t, t.TempDir())
	o.Trees = []Tree{&readOnlyTree{fakeTree{dir: "repo", files: map[string]string{"ro/f": "x"}}}}
	if err := BuildWork(context.Background(), o); err != nil {
		t.Fatalf("BuildWork: %v", err)
	}
	if got := dirNames(t, filepath.Dir(o.Path)); len(got) != 1 || got[0] != filepath.Base(o.Path) {
		t.Errorf("beside the disk: %q, want the disk alone", got)
	}
	if ino, ok := statDisk(t, o.Path, "/repo/ro"); !ok || ino.Perm != 0o555 {
		t.Errorf("/root/repo/ro: %+v, present %v; want mode 555", ino, ok)
	}
}
