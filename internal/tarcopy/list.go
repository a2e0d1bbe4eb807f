package tarcopy

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Entry is one host path, written under Name in a list stream.
type Entry struct {
	Name string // slash path below the stream's top
	Path string // the host file, directory or symbolic link
}

// WriteList writes a stream of a directory's contents (top name
// Contents) that holds dir itself and the entries given, in their order
// (a directory before what it holds), instead of all that dir holds.
// Links are written as links; an entry that vanished since it was listed
// is left out.
func WriteList(w io.Writer, dir string, entries []Entry) error {
	if _, err := (Source{Path: dir}).Check(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, chunk)
	tw := tar.NewWriter(bw)
	if err := writeEntry(tw, dir, Contents); err != nil {
		return err
	}
	for _, e := range entries {
		name := path.Clean(e.Name)
		if !fs.ValidPath(name) || name == "." || strings.HasPrefix(e.Name, "/") {
			return fmt.Errorf("%q is not a path below the copy's top", e.Name)
		}
		err := writeEntry(tw, e.Path, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}
