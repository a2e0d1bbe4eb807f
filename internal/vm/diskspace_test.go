package vm

import (
	"errors"
	"strings"
	"testing"

	"banger/internal/errdefs"
)

// A work disk larger than the state directory's free space is refused
// before anything is made, saying how much is free and what to do; one
// that fits is made.
func TestManagerCreateRefusesADiskLargerThanTheFreeSpace(t *testing.T) {
	h := mtManager(t)
	var asked string
	old := freeBytes
	freeBytes = func(dir string) (int64, error) { asked = dir; return 100 << 20, nil }
	t.Cleanup(func() { freeBytes = old })
	req := h.request("big", true)
	req.DiskBytes = 1 << 30
	_, err := h.m.Create(h.ctx, req, nil)
	if errdefs.KindOf(err) != errdefs.KindInvalidArgument || err == nil ||
		!strings.Contains(err.Error(), "a 1G disk asked, 100.0M free in "+asked+": pass a smaller --disk-size or free space") {
		t.Fatalf("Create(1G disk, 100M free) = %v; want an invalid argument naming both sizes and the fix", err)
	}
	if asked != h.m.dirs.State {
		t.Errorf("free space looked up in %q, want the state dir %q", asked, h.m.dirs.State)
	}
	h.assertGone("big")
	if h.calls("Start", "") != 0 {
		t.Errorf("VMM calls %q: a refused VM was booted", h.vmm.Methods())
	}
	h.mustCreate("small", true) // 64 MiB fits in 100 MiB
}

// The real lookup refuses a disk no filesystem has room for and says
// why when the directory is missing.
func TestCheckDiskFitsOnThisHost(t *testing.T) {
	dir := t.TempDir()
	if err := checkDiskFits(dir, 1<<62); !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "a 4E disk asked") {
		t.Fatalf("4E disk: %v, want refused", err)
	}
	if err := checkDiskFits(dir, 1<<20); err != nil {
		t.Fatalf("1M disk: %v", err)
	}
	if err := checkDiskFits(dir+"/missing", 1<<20); err == nil || !strings.Contains(err.Error(), "checking the free space in") {
		t.Fatalf("missing dir: %v, want the lookup's failure", err)
	}
}
