// Package pathstest gives tests banger's directories under a temp dir.
package pathstest

import (
	"os"
	"testing"

	"banger/internal/paths"
)

// Dirs are banger's directories under the test's temp dir, the state dir
// made, with a short runtime dir of its own: unix socket paths must fit
// in 107 bytes, which a test's temp dir can pass.
func Dirs(t testing.TB) paths.Dirs {
	t.Helper()
	dir := t.TempDir()
	run, err := os.MkdirTemp("", "bgt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	dirs := paths.Dirs{Config: dir + "/config", State: dir + "/state", Cache: dir + "/cache", Runtime: run}
	if err := os.MkdirAll(dirs.State, 0o700); err != nil {
		t.Fatal(err)
	}
	return dirs
}
