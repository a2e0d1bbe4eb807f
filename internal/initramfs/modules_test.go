package initramfs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
)

const testKver = "6.1.0-9-cloud-amd64"

// fakeModule is a module of the fake kernel: its path under
// lib/modules/<kver> and its dependencies.
type fakeModule struct{ path, depends string }

var fakeModules = []fakeModule{
	{"kernel/drivers/virtio/virtio_ring.ko", ""},
	{"kernel/drivers/virtio/virtio.ko", "virtio_ring"},
	{"kernel/drivers/virtio/virtio_mmio.ko", "virtio,virtio_ring"},
	{"kernel/drivers/block/virtio_blk.ko.xz", "virtio,virtio_ring"},
	{"kernel/drivers/char/hw_random/virtio-rng.ko", "virtio_ring,virtio"},
	{"kernel/fs/unused.ko", ""},
}

// fakeModulesDir makes a lib/modules/<kver> directory of fake modules,
// with a modules.dep as depmod writes it when withDep is set.
func fakeModulesDir(t *testing.T, withDep bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lib", "modules", testKver)
	var dep strings.Builder
	for _, m := range fakeModules {
		writeModule(t, filepath.Join(dir, m.path), fakeELF(t, false, []string{"license=GPL", "depends=" + m.depends, "name=" + moduleName(m.path)}))
		dep.WriteString(m.path + ":")
		for _, d := range strings.Split(m.depends, ",") {
			for _, o := range fakeModules {
				if d != "" && moduleName(o.path) == d {
					dep.WriteString(" " + o.path)
				}
			}
		}
		dep.WriteString("\n")
	}
	writeFile(t, filepath.Join(dir, "modules.builtin"), "kernel/fs/ext4/ext4.ko\nkernel/drivers/virtio/virtio_anchor.ko\n")
	if withDep {
		writeFile(t, filepath.Join(dir, "modules.dep"), dep.String())
	}
	return dir
}

func writeModule(t *testing.T, path string, img []byte) {
	t.Helper()
	if strings.HasSuffix(path, ".xz") {
		var b strings.Builder
		w, err := xz.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(img)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		img = []byte(b.String())
	}
	writeFile(t, path, string(img))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

var wantOrder = []string{
	"kernel/drivers/virtio/virtio_ring.ko",
	"kernel/drivers/virtio/virtio.ko",
	"kernel/drivers/block/virtio_blk.ko.xz",
	"kernel/drivers/char/hw_random/virtio-rng.ko",
	"kernel/drivers/virtio/virtio_mmio.ko",
}

func TestResolveModules(t *testing.T) {
	dir := fakeModulesDir(t, true)
	got, err := ResolveModules(filepath.Join(dir, "modules.dep"), []string{"virtio_blk", "virtio_rng", "ext4", "virtio-mmio", "virtio_blk"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, wantOrder) {
		t.Errorf("ResolveModules =\n%q\nwant\n%q", got, wantOrder)
	}
}

func TestScannedIndexMatchesModulesDep(t *testing.T) {
	ix, err := loadIndex(fakeModulesDir(t, false))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ix.resolve([]string{"virtio_blk", "virtio-rng", "ext4", "virtio_mmio"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, wantOrder) {
		t.Errorf("resolve from scanned modules =\n%q\nwant\n%q", got, wantOrder)
	}
}

func TestResolveModulesErrors(t *testing.T) {
	tests := []struct {
		name, dep string
		names     []string
		want      []string
	}{
		{"unknown names", "a.ko:\n", []string{"nope", "a", "nada"}, []string{`"nope"`, `"nada"`}},
		{"missing dependency", "a.ko: b.ko\n", []string{"a"}, []string{`"b", needed by a`}},
		{"cycle", "a.ko: b.ko\nb.ko: c.ko\nc.ko: a.ko\n", []string{"a"}, []string{"cycle: a -> b -> c -> a"}},
		{"malformed", "a.ko b.ko\n", []string{"a"}, []string{"line 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dep := filepath.Join(t.TempDir(), "modules.dep")
			writeFile(t, dep, tt.dep)
			_, err := ResolveModules(dep, tt.names)
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("ResolveModules(%q) error = %v, want one containing %s", tt.names, err, w)
				}
			}
		})
	}
}

func TestModuleName(t *testing.T) {
	for path, want := range map[string]string{
		"kernel/drivers/char/hw_random/virtio-rng.ko": "virtio_rng",
		"kernel/net/vsock.ko.zst":                     "vsock",
		"/abs/x-y.ko.xz":                              "x_y",
	} {
		if got := moduleName(path); got != want {
			t.Errorf("moduleName(%q) = %q, want %q", path, got, want)
		}
	}
}
