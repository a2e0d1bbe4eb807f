// Package atomicfile replaces the files bangerd keeps in its state
// directory so that a reader, or a daemon started after a crash, sees the
// old content or the new one, never a part: the data goes to a temporary
// file beside the target, is synced, and is renamed over it.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data, readable and writable by its owner only,
// making the parent directory (0700) when it is missing.
func Write(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // gone already once renamed
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
