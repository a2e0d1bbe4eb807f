package vmdisk

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"banger/internal/errdefs"
	"banger/internal/vmm"
)

// fakeImage writes a small file standing in for an image.
func fakeImage(t *testing.T) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "rootfs.ext4")
	writeFile(t, img, strings.Repeat("image block\n", 1000), 0o644)
	return img
}

// noReflink is a cloner for a filesystem without shared extents.
func noReflink(dst, src *os.File) error { return unix.EOPNOTSUPP }

// copyClone stands in for FICLONE on a filesystem that has it.
func copyClone(dst, src *os.File) error {
	_, err := io.Copy(dst, src)
	return err
}

func TestPrepareRootOverlay(t *testing.T) {
	requireE2fsprogs(t)
	img, dir := fakeImage(t), t.TempDir()
	m := rootMaker{clone: noReflink, mkfs: runMkfs}
	r, err := m.prepare(context.Background(), img, dir)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	want := Root{Mode: ModeOverlay, Image: img, Upper: filepath.Join(dir, UpperName)}
	if r != want {
		t.Fatalf("prepare = %+v, want %+v", r, want)
	}
	fi, err := os.Stat(r.Upper)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != UpperSize {
		t.Errorf("upper disk is %d bytes, want %d", fi.Size(), UpperSize)
	}
	if used := fi.Sys().(*syscall.Stat_t).Blocks * 512; used > 16<<20 {
		t.Errorf("upper disk takes %d bytes on the host, want a sparse file of a few MiB", used)
	}
	if sp, err := readSpace(r.Upper); err != nil || sp.FreeBlocks*sp.BlockSize < UpperSize*9/10 {
		t.Errorf("upper disk: %+v, %v; want an empty ext4 filesystem", sp, err)
	}
	if root, ok := statDisk(t, r.Upper, "/"); !ok || root.UID != 0 {
		t.Errorf("upper disk's root directory: %+v, want owned by uid 0", root)
	}
	if groups, zeroed := itablesZeroed(t, r.Upper); zeroed != groups {
		t.Errorf("%d of the upper disk's %d inode tables are marked zeroed: the guest would zero the others and fill the sparse file", zeroed, groups)
	}
	if got := dirNames(t, dir); !reflect.DeepEqual(got, []string{UpperName}) {
		t.Errorf("VM dir holds %q, want only %s", got, UpperName)
	}
}

func TestPrepareRootKeepsWhatExists(t *testing.T) {
	img, dir := fakeImage(t), t.TempDir()
	writeFile(t, filepath.Join(dir, UpperName), "the VM's changes", 0o600)
	m := rootMaker{
		clone: func(dst, src *os.File) error { t.Error("cloned over an existing root"); return nil },
		mkfs: func(context.Context, string, string, string, int64) error {
			t.Error("made a new upper disk over an existing one")
			return nil
		},
	}
	r, err := m.prepare(context.Background(), img, dir)
	if err != nil || r.Mode != ModeOverlay {
		t.Fatalf("prepare over an existing upper disk = %+v, %v", r, err)
	}
	if b, _ := os.ReadFile(r.Upper); string(b) != "the VM's changes" {
		t.Errorf("the upper disk changed: %q", b)
	}
}

func TestPrepareRootClone(t *testing.T) {
	img, dir := fakeImage(t), t.TempDir()
	m := rootMaker{clone: copyClone, mkfs: func(context.Context, string, string, string, int64) error {
		t.Error("made an upper disk although cloning works")
		return nil
	}}
	r, err := m.prepare(context.Background(), img, dir)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	want := Root{Mode: ModeClone, Image: img, Clone: filepath.Join(dir, CloneName)}
	if r != want {
		t.Fatalf("prepare = %+v, want %+v", r, want)
	}
	a, _ := os.ReadFile(img)
	b, _ := os.ReadFile(r.Clone)
	if string(a) != string(b) {
		t.Error("the clone differs from the image")
	}
	if got := dirNames(t, dir); !reflect.DeepEqual(got, []string{CloneName}) {
		t.Errorf("VM dir holds %q, want only %s", got, CloneName)
	}
	again, err := (rootMaker{}).prepare(context.Background(), img, dir)
	if err != nil || again != want {
		t.Errorf("prepare again = %+v, %v; want the same clone", again, err)
	}
}

func TestPrepareRootCloneFailure(t *testing.T) {
	img, dir := fakeImage(t), t.TempDir()
	m := rootMaker{clone: func(dst, src *os.File) error { return unix.EIO }}
	_, err := m.prepare(context.Background(), img, dir)
	if !errors.Is(err, unix.EIO) || !strings.Contains(err.Error(), "cloning") {
		t.Errorf("prepare with a failing clone = %v, want the I/O error", err)
	}
	if got := dirNames(t, dir); len(got) != 0 {
		t.Errorf("a failed clone left %q behind", got)
	}
}

func TestPrepareRootMissingImage(t *testing.T) {
	_, err := PrepareRoot(context.Background(), filepath.Join(t.TempDir(), "gone.ext4"), t.TempDir())
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "gone.ext4") {
		t.Errorf("PrepareRoot with no image = %v, want not found naming the file", err)
	}
}

// TestPrepareRootOnThisHost uses the real FICLONE: the mode depends on the
// temporary directory's filesystem, but the result must match it.
func TestPrepareRootOnThisHost(t *testing.T) {
	requireE2fsprogs(t)
	img, dir := fakeImage(t), t.TempDir()
	r, err := PrepareRoot(context.Background(), img, dir)
	if err != nil {
		t.Fatalf("PrepareRoot: %v", err)
	}
	t.Logf("root mode in %s: %s", dir, r.Mode)
	if _, err := os.Stat(r.own()); err != nil {
		t.Errorf("PrepareRoot said %s but made no file: %v", r.Mode, err)
	}
}

func TestCloneUnsupported(t *testing.T) {
	for _, err := range []error{unix.EOPNOTSUPP, unix.EXDEV, unix.EINVAL, unix.ENOTTY, &os.PathError{Op: "ioctl", Err: unix.EOPNOTSUPP}} {
		if !cloneUnsupported(err) {
			t.Errorf("cloneUnsupported(%v) = false", err)
		}
	}
	for _, err := range []error{nil, unix.EIO, unix.ENOSPC, unix.EPERM} {
		if cloneUnsupported(err) {
			t.Errorf("cloneUnsupported(%v) = true", err)
		}
	}
}

func TestRootDisksAndCmdline(t *testing.T) {
	overlay := Root{Mode: ModeOverlay, Image: "/i/rootfs.ext4", Upper: "/v/upper.ext4"}
	if got, want := overlay.Disks(), []vmm.Disk{
		{ID: "root", Path: "/i/rootfs.ext4", Format: "raw", ReadOnly: true},
		{ID: "upper", Path: "/v/upper.ext4", Format: "raw"},
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("overlay Disks = %+v, want %+v", got, want)
	}
	if got, want := overlay.Cmdline(), "root=/dev/vda ro banger.overlay=/dev/vdb"; got != want {
		t.Errorf("overlay Cmdline = %q, want %q", got, want)
	}
	if got := overlay.WorkDevice(); got != "/dev/vdc" {
		t.Errorf("overlay WorkDevice = %q, want /dev/vdc", got)
	}
	clone := Root{Mode: ModeClone, Image: "/i/rootfs.ext4", Clone: "/v/root.ext4"}
	if got, want := clone.Disks(), []vmm.Disk{{ID: "root", Path: "/v/root.ext4", Format: "raw"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("clone Disks = %+v, want %+v", got, want)
	}
	if got, want := clone.Cmdline(), "root=/dev/vda rw"; got != want {
		t.Errorf("clone Cmdline = %q, want %q", got, want)
	}
	if got := clone.WorkDevice(); got != "/dev/vdb" {
		t.Errorf("clone WorkDevice = %q, want /dev/vdb", got)
	}
	if got := WorkCmdline("/dev/vdc"); got != "banger.work=/dev/vdc" {
		t.Errorf("WorkCmdline = %q", got)
	}
}
