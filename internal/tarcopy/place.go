package tarcopy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"banger/internal/errdefs"
)

// placement is where a stream's tree lands: under dir, with the stream's
// top name replaced by top ("." for dir itself).
type placement struct {
	dir string
	top string
}

// CheckDest says early whether dest can receive a copy: it exists, or
// its parent is a directory. Extract checks again, with the source's type.
func CheckDest(dest string) error {
	_, err := os.Stat(dest)
	if err == nil {
		return nil
	}
	if !os.IsNotExist(err) {
		return fmt.Errorf("reading %s: %w", dest, err)
	}
	parent := filepath.Dir(filepath.Clean(dest))
	pfi, err := os.Stat(parent)
	switch {
	case os.IsNotExist(err):
		return errdefs.NotFound("directory %s does not exist: create it first", parent)
	case err != nil:
		return fmt.Errorf("reading %s: %w", parent, err)
	case !pfi.IsDir():
		return errdefs.InvalidArgument("%s is not a directory", parent)
	}
	return nil
}

// place decides, as `docker cp` does, where a tree whose top entry is
// named top (a directory when isDir) goes for dest:
//   - dest is a directory: into it, as dest/top; a stream of contents
//     goes straight into dest;
//   - dest does not exist: it becomes the copy (its parent must exist),
//     unless it ends in "/" and the source is a file;
//   - dest is a file: a file overwrites it; a directory cannot.
func place(dest, top string, isDir bool) (placement, error) {
	fi, err := os.Stat(dest)
	switch {
	case err == nil && fi.IsDir():
		if top == Contents {
			return placement{dir: dest, top: "."}, nil
		}
		return placement{dir: dest, top: top}, nil
	case err == nil && isDir:
		return placement{}, errdefs.InvalidArgument("cannot copy a directory onto the file %s", dest)
	case err == nil:
		return parentOf(dest), nil
	case !os.IsNotExist(err):
		return placement{}, fmt.Errorf("reading %s: %w", dest, err)
	case !isDir && strings.HasSuffix(dest, "/"):
		return placement{}, errdefs.NotFound("directory %s does not exist: create it first, or drop the trailing /", dest)
	}
	if err := CheckDest(dest); err != nil {
		return placement{}, err
	}
	return parentOf(dest), nil
}

func parentOf(dest string) placement {
	clean := filepath.Clean(dest)
	return placement{dir: filepath.Dir(clean), top: filepath.Base(clean)}
}

// openPlace is place, and the directory the copy goes into opened as a
// root that nothing written through can leave.
func openPlace(dest, top string, isDir bool) (placement, *os.Root, error) {
	pl, err := place(dest, top, isDir)
	if err != nil {
		return pl, nil, err
	}
	root, err := os.OpenRoot(pl.dir)
	if err != nil {
		return pl, nil, fmt.Errorf("opening %s: %w", pl.dir, err)
	}
	return pl, root, nil
}
