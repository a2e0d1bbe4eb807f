package initramfs

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"

	"banger/internal/guestabi"
)

// archived is one file read back from an initramfs.
type archived struct {
	mode cpio.FileMode
	data []byte
}

// readArchive unpacks an initramfs with an independent cpio reader.
func readArchive(t *testing.T, img []byte) ([]string, map[string]archived) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	r := cpio.NewReader(zr)
	var names []string
	files := map[string]archived{}
	for {
		hdr, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading the archive: %v", err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		files[hdr.Name] = archived{hdr.Mode, data}
	}
	return names, files
}

func fakeInit(t *testing.T, dynamic bool) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "agent")
	writeFile(t, p, string(fakeELF(t, dynamic, nil)))
	return p
}

func build(t *testing.T, o Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Build(&b, o); err != nil {
		t.Fatalf("Build: %v", err)
	}
	return b.Bytes()
}

func TestBuild(t *testing.T) {
	dir := fakeModulesDir(t, false)
	initBin := fakeInit(t, false)
	img := build(t, Options{InitBinary: initBin, ModulesDir: dir, Modules: []string{"virtio_blk", "virtio_rng", "virtio_mmio"}})
	names, files := readArchive(t, img)

	base := "lib/modules/" + testKver + "/"
	want := map[string]cpio.FileMode{
		"init": cpio.TypeReg | 0o755, "etc/banger-init.conf": cpio.TypeReg | 0o644,
		"dev": cpio.TypeDir | 0o755, "dev/console": cpio.TypeChar | 0o600,
		"proc": cpio.TypeDir | 0o755, "sys": cpio.TypeDir | 0o755, "newroot": cpio.TypeDir | 0o755,
		"lib/modules": cpio.TypeDir | 0o755, base + "kernel/drivers/virtio": cpio.TypeDir | 0o755,
	}
	for _, m := range wantOrder {
		want[base+m] = cpio.TypeReg | 0o644
	}
	for name, mode := range want {
		if got, ok := files[name]; !ok || got.mode != mode {
			t.Errorf("%s: mode %v (present %v), want %v", name, got.mode, ok, mode)
		}
	}
	if _, ok := files[base+"kernel/fs/unused.ko"]; ok {
		t.Error("a module nobody asked for was included")
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("entries not sorted: %q before %q", names[i-1], names[i])
		}
	}
	wantInit, _ := os.ReadFile(initBin)
	if !bytes.Equal(files["init"].data, wantInit) {
		t.Error("/init differs from the init binary")
	}
	blk, _ := os.ReadFile(filepath.Join(dir, "kernel/drivers/block/virtio_blk.ko.xz"))
	if !bytes.Equal(files[base+"kernel/drivers/block/virtio_blk.ko.xz"].data, blk) {
		t.Error("a compressed module was not stored as found")
	}
	conf, err := guestabi.ParseModuleList(bytes.NewReader(files["etc/banger-init.conf"].data))
	if err != nil {
		t.Fatal(err)
	}
	var wantConf []string
	for _, m := range wantOrder {
		wantConf = append(wantConf, "/"+base+m)
	}
	if strings.Join(conf, "\n") != strings.Join(wantConf, "\n") {
		t.Errorf("module list =\n%s\nwant\n%s", strings.Join(conf, "\n"), strings.Join(wantConf, "\n"))
	}
}

// TestBuildConsoleDevice checks /dev/console is char device 5:1, which the
// cpio reader used above does not report.
func TestBuildConsoleDevice(t *testing.T) {
	zr, err := gzip.NewReader(bytes.NewReader(build(t, Options{InitBinary: fakeInit(t, false)})))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(raw, []byte("dev/console\x00"))
	if i < 110 {
		t.Fatal("no dev/console entry")
	}
	hdr := string(raw[i-110 : i])
	major, _ := strconv.ParseUint(hdr[78:86], 16, 32)
	minor, _ := strconv.ParseUint(hdr[86:94], 16, 32)
	if major != 5 || minor != 1 {
		t.Errorf("dev/console is device %d:%d, want 5:1", major, minor)
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	dir := fakeModulesDir(t, true)
	o := Options{InitBinary: fakeInit(t, false), ModulesDir: dir, Modules: []string{"virtio_blk"}}
	first := build(t, o)
	// A later mtime on the inputs must not show in the output.
	later := filepath.Join(dir, "kernel/drivers/virtio/virtio.ko")
	data, _ := os.ReadFile(later)
	writeFile(t, later, string(data))
	if !bytes.Equal(first, build(t, o)) {
		t.Error("two builds from the same inputs differ")
	}
}

func TestBuildWithoutModules(t *testing.T) {
	_, files := readArchive(t, build(t, Options{InitBinary: fakeInit(t, false)}))
	conf, err := guestabi.ParseModuleList(bytes.NewReader(files["etc/banger-init.conf"].data))
	if err != nil || len(conf) != 0 {
		t.Errorf("module list without a modules dir = %q (%v), want empty", conf, err)
	}
	if _, ok := files["lib"]; ok {
		t.Error("lib/ present without modules")
	}
}

func TestBuildRejects(t *testing.T) {
	dir := fakeModulesDir(t, false)
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"dynamic init", Options{InitBinary: fakeInit(t, true)}, "CGO_ENABLED=0"},
		{"no init", Options{}, "no init binary"},
		{"init not ELF", Options{InitBinary: filepath.Join(dir, "modules.builtin")}, "not an ELF"},
		{"unknown module", Options{InitBinary: fakeInit(t, false), ModulesDir: dir, Modules: []string{"virtio_blk", "floppy"}}, `"floppy"`},
		{"defaults need virtio_net", Options{InitBinary: fakeInit(t, false), ModulesDir: dir}, `"virtio_net"`},
		{"modules without a dir", Options{InitBinary: fakeInit(t, false), Modules: []string{"virtio_blk"}}, "no modules directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Build(io.Discard, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build error = %v, want one containing %s", err, tt.want)
			}
		})
	}
}
