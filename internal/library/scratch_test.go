package library

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"banger/internal/image"
	"banger/internal/paths"
)

// A build killed with the daemon can leave /proc and /sys mounted in its
// scratch dir, whose name may hold a space (mountinfo writes it \040).
// The sweep at start-up unmounts them and removes the dir, and never
// deletes through the mount. Needs root to mount.
func TestSweepScratchUnmountsLeftovers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	s := New(Options{Dirs: paths.Dirs{State: t.TempDir()}, Log: slog.New(slog.DiscardHandler)})
	dir := filepath.Join(s.dirs.State, "tmp", "build- 1")
	mnt := filepath.Join(dir, "tree", "proc")
	if err := os.MkdirAll(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(mnt, "inside"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}

	s.SweepScratch(context.Background())

	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if left := image.MountsUnder(string(info), dir); len(left) > 0 {
		t.Errorf("still mounted after the sweep: %q", left)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("scratch dir %s is still there (%v)", dir, err)
	}
}
