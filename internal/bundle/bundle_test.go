package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/klauspost/compress/zstd"

	"banger/internal/errdefs"
	"banger/internal/progress"
)

func openFile(p string) (io.ReadCloser, error) { return os.Open(p) }

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sparseFile makes a file of size bytes that holds data at the given offsets
// and holes elsewhere.
func sparseFile(t *testing.T, path string, size int64, data map[int64][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for off, b := range data {
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
}

// export writes a bundle of m to path.
func export(t *testing.T, path string, m Manifest) {
	t.Helper()
	var buf bytes.Buffer
	if err := Export(context.Background(), &buf, m, openFile, nil); err != nil {
		t.Fatalf("Export: %v", err)
	}
	writeFile(t, path, buf.Bytes())
}

// decompress turns a zstd bundle into a plain tar file.
func decompress(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dec, err := zstd.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	data, err := io.ReadAll(dec)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dst, data)
}

func sameFile(t *testing.T, got, want string) {
	t.Helper()
	a, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("%s differs from %s", got, want)
	}
}

// assertNothingLeft checks that a failed import left no destination and no
// staging directory.
func assertNothingLeft(t *testing.T, destDir string) {
	t.Helper()
	if _, err := os.Lstat(destDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists after a failed import (err %v)", destDir, err)
	}
	entries, err := os.ReadDir(filepath.Dir(destDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), "staging") {
			t.Fatalf("staging directory %s left behind", e.Name())
		}
	}
}

// kernelImage lays out an image with a kernel in dir and returns its
// manifest, sources filled in.
func kernelImage(t *testing.T, dir string, rootfsSize int64) Manifest {
	t.Helper()
	rootfs := filepath.Join(dir, "src", "rootfs.ext4")
	if err := os.MkdirAll(filepath.Dir(rootfs), 0o755); err != nil {
		t.Fatal(err)
	}
	sparseFile(t, rootfs, rootfsSize, map[int64][]byte{
		0:               []byte("superblock"),
		rootfsSize / 4:  randomBytes(t, 1000),
		rootfsSize - 10: []byte("the end..."),
	})
	return Manifest{
		Name: "debian-bookworm", Version: "2024-06-01", Description: "test image",
		Kernel: &KernelInfo{Name: "debian-6.1", Version: "6.1.0-21-amd64"},
		Files: []File{
			{Path: "rootfs.ext4", Role: RoleRootfs, SourcePath: rootfs},
			{Path: "kernel/vmlinux", Role: RoleVmlinux, SourcePath: writeFile(t, filepath.Join(dir, "src", "vmlinux"), randomBytes(t, 5000))},
			{Path: "kernel/initrd.img", Role: RoleInitrd, SourcePath: writeFile(t, filepath.Join(dir, "src", "initrd"), []byte("initrd"))},
			{Path: "kernel/modules/lib/modules/6.1/modules.dep", Role: RoleModules, SourcePath: writeFile(t, filepath.Join(dir, "src", "modules.dep"), nil)},
		},
	}
}

func TestRoundTripSparse(t *testing.T) {
	dir := t.TempDir()
	const size = 64 << 20
	m := kernelImage(t, dir, size)
	bundlePath := filepath.Join(dir, "img.tar.zst")
	export(t, bundlePath, m)

	fi, err := os.Stat(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 256<<10 {
		t.Fatalf("bundle of a mostly empty %d-byte image is %d bytes, want under 256 KiB", size, fi.Size())
	}

	var steps []string
	prog := progress.Func(func(e progress.Event) {
		if len(steps) == 0 || steps[len(steps)-1] != e.Step {
			steps = append(steps, e.Step)
		}
	})
	dest := filepath.Join(dir, "store", "images", "debian-bookworm")
	got, err := Import(context.Background(), bundlePath, dest, ImportOptions{Progress: prog})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if got.Name != m.Name || got.Version != m.Version || got.Kernel == nil || *got.Kernel != *m.Kernel || len(got.Files) != len(m.Files) {
		t.Fatalf("imported manifest = %+v, want the exported one %+v", got, m)
	}
	for i, f := range got.Files {
		if f.SourcePath != filepath.Join(dest, filepath.FromSlash(f.Path)) {
			t.Fatalf("file %s SourcePath = %q, want it under %s", f.Path, f.SourcePath, dest)
		}
		sameFile(t, f.SourcePath, m.Files[i].SourcePath)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(got.Rootfs().SourcePath, &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != size {
		t.Fatalf("imported rootfs is %d bytes, want %d", st.Size, size)
	}
	if allocated := st.Blocks * 512; allocated > 1<<20 {
		t.Fatalf("imported rootfs has %d bytes allocated, want it sparse (under 1 MiB)", allocated)
	}
	if want := "unpacking"; !strings.Contains(strings.Join(steps, ","), want) {
		t.Fatalf("progress steps = %v, want %q among them", steps, want)
	}
}

func TestImportPlainTar(t *testing.T) {
	dir := t.TempDir()
	m := kernelImage(t, dir, 1<<20)
	m.Kernel, m.Files = nil, m.Files[:1]
	export(t, filepath.Join(dir, "img.tar.zst"), m)
	decompress(t, filepath.Join(dir, "img.tar.zst"), filepath.Join(dir, "img.tar"))

	got, err := Import(context.Background(), filepath.Join(dir, "img.tar"), filepath.Join(dir, "out"), ImportOptions{})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if got.Kernel != nil || len(got.Files) != 1 {
		t.Fatalf("manifest = %+v, want one rootfs and no kernel", got)
	}
	sameFile(t, got.Rootfs().SourcePath, m.Files[0].SourcePath)
}

func TestReadManifest(t *testing.T) {
	dir := t.TempDir()
	m := kernelImage(t, dir, 1<<20)
	export(t, filepath.Join(dir, "img.tar.zst"), m)
	decompress(t, filepath.Join(dir, "img.tar.zst"), filepath.Join(dir, "img.tar"))
	for _, name := range []string{"img.tar.zst", "img.tar"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadManifest(f)
		f.Close()
		if err != nil {
			t.Fatalf("ReadManifest(%s): %v", name, err)
		}
		if got.FormatVersion != FormatVersion || got.Name != m.Name || len(got.Files) != 4 || got.Files[0].Size != 1<<20 {
			t.Fatalf("ReadManifest(%s) = %+v", name, got)
		}
	}
	if _, err := ReadManifest(strings.NewReader("hello, not a bundle")); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("ReadManifest(garbage) = %v, want invalid_argument", err)
	}
}

func TestImportRefusesExistingDest(t *testing.T) {
	dir := t.TempDir()
	m := kernelImage(t, dir, 4096)
	export(t, filepath.Join(dir, "img.tar.zst"), m)
	dest := filepath.Join(dir, "out")
	if err := os.Mkdir(dest, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Import(context.Background(), filepath.Join(dir, "img.tar.zst"), dest, ImportOptions{})
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Import into an existing dir = %v, want failed_precondition", err)
	}
}

func TestImportMissingFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Import(context.Background(), filepath.Join(dir, "nope.tar.zst"), filepath.Join(dir, "out"), ImportOptions{})
	if !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("Import(missing file) = %v, want not_found", err)
	}
}

func TestExportDetectsChangedFile(t *testing.T) {
	calls := 0
	open := func(string) (io.ReadCloser, error) {
		calls++
		return io.NopCloser(strings.NewReader(strings.Repeat("x", calls))), nil
	}
	m := Manifest{Name: "x", Version: "1", Files: []File{{Path: "rootfs.ext4", Role: RoleRootfs, SourcePath: "r"}}}
	err := Export(context.Background(), io.Discard, m, open, nil)
	if !errors.Is(err, errChanged) {
		t.Fatalf("Export of a file that grew = %v, want errChanged", err)
	}
}

func TestExportValidatesFirst(t *testing.T) {
	open := func(string) (io.ReadCloser, error) {
		t.Fatal("Export opened a file of an invalid manifest")
		return nil, nil
	}
	m := Manifest{Name: "Bad Name", Files: []File{{Path: "rootfs.ext4", Role: RoleRootfs, SourcePath: "r"}}}
	if err := Export(context.Background(), io.Discard, m, open, nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("Export = %v, want invalid_argument", err)
	}
}

func TestImportCancelled(t *testing.T) {
	dir := t.TempDir()
	m := kernelImage(t, dir, 8<<20)
	m.Files[0].SourcePath = writeFile(t, filepath.Join(dir, "random"), randomBytes(t, 4<<20))
	export(t, filepath.Join(dir, "img.tar.zst"), m)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prog := progress.Func(func(e progress.Event) {
		if e.Step == "unpacking" && e.Done > 0 {
			cancel()
		}
	})
	dest := filepath.Join(dir, "out")
	_, err := Import(ctx, filepath.Join(dir, "img.tar.zst"), dest, ImportOptions{Progress: prog})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Import = %v, want context.Canceled", err)
	}
	assertNothingLeft(t, dest)
}

// entry is one member of a hand-made bundle.
type entry struct {
	name string
	data []byte
}

func fileEntry(path string, role Role, data []byte) (File, entry) {
	sum := sha256.Sum256(data)
	return File{Path: path, Role: role, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, entry{path, data}
}

func manifestEntry(t *testing.T, m Manifest) entry {
	t.Helper()
	if m.FormatVersion == 0 {
		m.FormatVersion = FormatVersion
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return entry{ManifestName, data}
}

// rawBundle writes a plain tar of entries, in order, and returns its path.
func rawBundle(t *testing.T, dir string, entries ...entry) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Size: int64(len(e.data)), Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, filepath.Join(dir, "hand.tar"), buf.Bytes())
}

func TestImportRefusesBadBundles(t *testing.T) {
	rootfs, rootfsEntry := fileEntry("rootfs.ext4", RoleRootfs, []byte("ext4 image bytes"))
	initrd, initrdEntry := fileEntry("initrd.img", RoleInitrd, []byte("initrd"))
	vmlinux, vmlinuxEntry := fileEntry("vmlinux", RoleVmlinux, []byte("elf"))
	one := Manifest{Name: "img", Version: "1", Files: []File{rootfs}}
	withKernel := Manifest{Name: "img", Version: "1", Kernel: &KernelInfo{Name: "k", Version: "6"}, Files: []File{rootfs, vmlinux, initrd}}
	corrupt := rootfsEntry
	corrupt.data = bytes.Clone(corrupt.data)
	corrupt.data[3] ^= 1

	cases := []struct {
		name    string
		entries func(t *testing.T) []entry
		want    string
	}{
		{"corrupted byte", func(t *testing.T) []entry { return []entry{manifestEntry(t, one), corrupt} },
			"bundle is corrupted: file rootfs.ext4 has sha256"},
		{"truncated file", func(t *testing.T) []entry {
			short := entry{"rootfs.ext4", rootfsEntry.data[:5]}
			return []entry{manifestEntry(t, one), short}
		}, "file rootfs.ext4 is 5 bytes, the manifest says 16"},
		{"missing file", func(t *testing.T) []entry {
			return []entry{manifestEntry(t, withKernel), rootfsEntry, vmlinuxEntry}
		}, "file initrd.img is listed in the manifest but missing"},
		{"extra entry", func(t *testing.T) []entry {
			return []entry{manifestEntry(t, one), rootfsEntry, initrdEntry}
		}, `entry "initrd.img" is not listed`},
		{"duplicate entry", func(t *testing.T) []entry {
			return []entry{manifestEntry(t, one), rootfsEntry, rootfsEntry}
		}, "appears twice"},
		{"escaping entry", func(t *testing.T) []entry {
			return []entry{manifestEntry(t, one), rootfsEntry, {"../evil", []byte("x")}}
		}, `entry "../evil" is not listed`},
		{"escaping path in manifest", func(t *testing.T) []entry {
			m := one
			m.Files = []File{rootfs}
			m.Files[0].Path = "../rootfs.ext4"
			return []entry{manifestEntry(t, m), {"../rootfs.ext4", rootfsEntry.data}}
		}, "relative and clean"},
		{"manifest not first", func(t *testing.T) []entry {
			return []entry{rootfsEntry, manifestEntry(t, one)}
		}, `first entry is "rootfs.ext4", not manifest.json`},
		{"no manifest", func(t *testing.T) []entry { return []entry{rootfsEntry} }, "not manifest.json"},
		{"empty bundle", func(t *testing.T) []entry { return nil }, "not a banger bundle"},
		{"future format", func(t *testing.T) []entry {
			m := one
			m.FormatVersion = 2
			return []entry{manifestEntry(t, m), rootfsEntry}
		}, "unsupported bundle format_version 2"},
		{"broken manifest", func(t *testing.T) []entry {
			return []entry{{ManifestName, []byte("{not json")}, rootfsEntry}
		}, "bundle is corrupted: reading manifest.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := rawBundle(t, dir, tc.entries(t)...)
			dest := filepath.Join(dir, "images", "img")
			_, err := Import(context.Background(), src, dest, ImportOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Import = %v, want an error containing %q", err, tc.want)
			}
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("Import = %v, want kind invalid_argument", err)
			}
			assertNothingLeft(t, dest)
			if _, err := os.Lstat(filepath.Join(dir, "evil")); err == nil {
				t.Fatal("an entry escaped the destination")
			}
		})
	}
}
