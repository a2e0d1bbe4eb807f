// Package atomicfile replaces files so that a reader, or a program started
// after a crash, sees the old content or the new one, never a part: the
// data goes to a temporary file beside the target, is synced, and is
// renamed over it, and the directory is synced so that the rename lasts.
//
// It depends on the standard library alone, so that any binary, the guest
// agent included, may use it.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// Write replaces path with data, readable and writable by its owner only,
// making the parent directory (0700) when it is missing.
func Write(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return WriteFile(path, data, 0o600)
}

// WriteFile replaces path with data, like os.WriteFile but atomically,
// and with mode perm exactly: the umask does not reduce it.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return WriteFrom(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFrom replaces path with what fill writes, for content that comes
// as a stream or is too large to hold in memory. When fill fails, path is
// left as it was and the error is returned as fill gave it. The file gets
// mode perm exactly.
func WriteFrom(path string, perm os.FileMode, fill func(w io.Writer) error) error {
	f, err := create(path)
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // gone already once renamed
	err = fill(f)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return rename(f.Name(), path)
}

// WriteFileLater is WriteFile without its syncs, for a set of small files
// made lasting together by one syncfs(2) of their filesystem afterwards:
// a reader still sees the old content or the new, never a part, but a
// crash before that sync may leave the old. Each sync costs a disk flush,
// which a slow guest pays dearly for.
func WriteFileLater(path string, data []byte, perm os.FileMode) error {
	f, err := create(path)
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // gone already once renamed
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Make replaces path with a file that fill makes by name, for content a
// program writes, such as mkfs or cp. fill gets the name of a new empty
// file (mode 0600) beside path, which it may write or replace. When fill
// fails, path is left as it was and the error is returned as fill gave it.
func Make(path string, fill func(tmp string) error) error {
	f, err := create(path)
	if err != nil {
		return err
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp) // gone already once renamed
	if err := fill(tmp); err != nil {
		return err
	}
	return Commit(tmp, path)
}

// Commit makes the finished file tmp, which must be in path's directory,
// the file path: it syncs tmp, renames it over path and syncs the
// directory. On failure tmp stays for the caller to remove.
func Commit(tmp, path string) error {
	f, err := os.Open(tmp)
	if err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Errorf("replacing %s: syncing %s: %w", path, tmp, err)
	}
	return rename(tmp, path)
}

// rename moves the synced tmp over path and syncs their directory.
func rename(tmp, path string) error {
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("replacing %s: syncing its directory: %w", path, err)
	}
	return nil
}

// syncDir makes a rename in dir last. A filesystem that cannot sync a
// directory (EINVAL) has nothing to make last.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

var tmpSeq atomic.Uint64

// create makes a new file, mode 0600, beside path, hidden and named after
// it: .NAME.tmp-N.
func create(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	seed := uint64(time.Now().UnixNano()) + uint64(os.Getpid())<<32
	for range 100 {
		n := seed + tmpSeq.Add(1)
		name := filepath.Join(dir, "."+base+".tmp-"+strconv.FormatUint(n%1e9, 10))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, os.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("replacing %s: no free temporary name beside it", path)
}
