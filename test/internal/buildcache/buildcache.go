// Package buildcache tidies the persistent image build caches that the
// end-to-end tests and the benchmarks keep between runs.
package buildcache

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Prune keeps only the newest keep image builds (DIGEST.ext4) in dir: each
// change to the guest agent makes a new one of about a gigabyte.
func Prune(dir string, keep int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type build struct {
		path string
		mod  time.Time
	}
	var builds []build
	for _, e := range entries {
		if info, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), ".ext4") {
			builds = append(builds, build{filepath.Join(dir, e.Name()), info.ModTime()})
		}
	}
	sort.Slice(builds, func(i, j int) bool { return builds[i].mod.After(builds[j].mod) })
	for i := keep; i < len(builds); i++ {
		os.Remove(builds[i].path)
	}
}
