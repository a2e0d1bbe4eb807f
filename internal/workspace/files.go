package workspace

import (
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// File is one file, symbolic link or directory of a working-tree copy.
type File struct {
	Rel  string      // slash path inside the copy
	Host string      // the host path it is read from
	Mode fs.FileMode // type and permission bits, as planned
	Size int64       // a regular file's bytes, as planned
}

// Files lists the working tree's files, links and directories the copy
// holds, submodules' included, parents before children. It never lists
// a .git: the repositories' history is not part of it.
func (c *Copy) Files() []File {
	var out []File
	c.files("", c.src.Top, &out)
	slices.SortStableFunc(out, func(a, b File) int { return strings.Compare(a.Rel, b.Rel) })
	return out
}

func (c *Copy) files(prefix, top string, out *[]File) {
	for _, e := range c.entries {
		if isGitPath(e.rel) {
			continue
		}
		*out = append(*out, File{Rel: path.Join(prefix, e.rel), Host: filepath.Join(top, filepath.FromSlash(e.rel)), Mode: e.mode, Size: e.size})
	}
	for _, s := range c.subs {
		s.files(path.Join(prefix, s.rel), s.src.Top, out)
	}
}

// isGitPath reports whether rel is, or is inside, a .git.
func isGitPath(rel string) bool {
	return slices.Contains(strings.Split(rel, "/"), ".git")
}
