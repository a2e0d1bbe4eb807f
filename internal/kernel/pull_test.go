package kernel

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"banger/internal/progress"
)

func fakeModule(t *testing.T, name, depends string) string {
	info := "license=GPL\x00depends=" + depends + "\x00name=" + name + "\x00"
	return string(fakeELF(t, map[string][]byte{".modinfo": []byte(info)}, 0))
}

// kernelDeb is a package shaped like Debian's linux-image-*-cloud-amd64.
func kernelDeb(t *testing.T, vmlinux []byte) []byte {
	mods := "./lib/modules/" + testKver + "/kernel/drivers/"
	bz := fakeBzImage(withSizeTrailer(lz4Legacy(t, vmlinux), len(vmlinux)))
	return makeDeb(t, []tarEntry{
		dir("./"), dir("./boot/"),
		file("./boot/vmlinuz-"+testKver, string(bz)),
		file("./boot/config-"+testKver, "CONFIG_VIRTIO_BLK=m\n"),
		file("./boot/System.map-"+testKver, "ffffffff81000000 T _text\n"),
		file("./lib/modules/"+testKver+"/modules.order", "kernel/drivers/block/virtio_blk.ko\n"),
		file(mods+"block/virtio_blk.ko", fakeModule(t, "virtio_blk", "virtio,virtio_ring")),
		file(mods+"virtio/virtio.ko", fakeModule(t, "virtio", "")),
		file(mods+"virtio/virtio_ring.ko", fakeModule(t, "virtio_ring", "virtio")),
		file(mods+"virtio/virtio_mmio.ko", fakeModule(t, "virtio_mmio", "virtio_ring,virtio")),
		file("./usr/share/doc/linux-image-"+testKver+"/changelog.gz", "log"),
	})
}

func pullOptions(t *testing.T, src Source, build func(context.Context, Kernel, io.Writer) error) PullOptions {
	parent := t.TempDir()
	return PullOptions{Source: src, Name: "debian-6.1-cloud", Dir: filepath.Join(parent, "debian-6.1-cloud"),
		TmpDir: filepath.Join(parent, "tmp"), BuildInitrd: build}
}

func TestPull(t *testing.T) {
	vmlinux := fakeVmlinux(t)
	src := newArchive(t, kernelDeb(t, vmlinux), ".xz", xzBytes).serve(t)
	var modulesDep string
	o := pullOptions(t, src, func(_ context.Context, k Kernel, w io.Writer) error {
		b, err := os.ReadFile(filepath.Join(k.ModulesDir, "modules.dep"))
		modulesDep = string(b)
		io.WriteString(w, "initramfs for "+k.Version)
		return err
	})
	var steps []string
	o.Progress = func(e progress.Event) {
		if e.Message == "" && e.Done == 0 {
			steps = append(steps, e.Step)
		}
	}
	k, err := Pull(context.Background(), o)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if got, want := strings.Join(steps, ","), "resolve,download,extract,modules,vmlinux,initrd"; got != want {
		t.Fatalf("steps = %s, want %s", got, want)
	}
	if want := layout("debian-6.1-cloud", testKver, o.Dir); k != want {
		t.Fatalf("Pull = %+v, want %+v", k, want)
	}
	checkPulled(t, k, vmlinux)
	wantDep := "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n"
	if !strings.Contains(modulesDep, wantDep) {
		t.Fatalf("modules.dep =\n%s\nwant a line %q", modulesDep, wantDep)
	}
	checkNoStaging(t, filepath.Dir(o.Dir))
}

func checkPulled(t *testing.T, k Kernel, vmlinux []byte) {
	t.Helper()
	if got, err := os.ReadFile(k.Vmlinux); err != nil || !bytes.Equal(got, vmlinux) {
		t.Fatalf("vmlinux differs from the packaged kernel's payload (err %v)", err)
	}
	if got, err := os.ReadFile(k.Initrd); err != nil || string(got) != "initramfs for "+testKver {
		t.Fatalf("initrd.img = %q, %v", got, err)
	}
	for _, p := range []string{k.BzImage, filepath.Join(k.Dir, "config"), filepath.Join(k.ModulesDir, "modules.order")} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("missing %s: %v", p, err)
		}
	}
	for _, p := range []string{"modules/boot", "modules/usr"} {
		if _, err := os.Stat(filepath.Join(k.Dir, p)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s should not be kept (stat: %v)", p, err)
		}
	}
}

func checkNoStaging(t *testing.T, parent string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("staging directory %s left behind", e.Name())
		}
	}
}

func TestPullReusesCachedDeb(t *testing.T) {
	a := newArchive(t, kernelDeb(t, fakeVmlinux(t)), ".xz", xzBytes)
	src := a.serve(t)
	build := func(_ context.Context, k Kernel, w io.Writer) error {
		_, err := io.WriteString(w, "initramfs for "+k.Version)
		return err
	}
	o := pullOptions(t, src, build)
	if _, err := Pull(context.Background(), o); err != nil {
		t.Fatalf("first Pull: %v", err)
	}
	for name := range a {
		if strings.HasSuffix(name, ".deb") {
			delete(a, name) // a second download would now fail
		}
	}
	o.Dir += "-again"
	if _, err := Pull(context.Background(), o); err != nil {
		t.Fatalf("second Pull did not reuse the cached .deb: %v", err)
	}
}

func TestPullCancelledLeavesNothing(t *testing.T) {
	src := newArchive(t, kernelDeb(t, fakeVmlinux(t)), ".xz", xzBytes).serve(t)
	for _, at := range []string{"extract", "initrd"} {
		ctx, cancel := context.WithCancel(context.Background())
		o := pullOptions(t, src, func(ctx context.Context, _ Kernel, w io.Writer) error {
			io.WriteString(w, "partial")
			return ctx.Err()
		})
		o.Progress = func(e progress.Event) {
			if e.Step == at {
				cancel()
			}
		}
		_, err := Pull(ctx, o)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Pull cancelled at %s = %v, want context.Canceled", at, err)
		}
		if _, err := os.Stat(o.Dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("cancelled at %s: %s exists (stat: %v)", at, o.Dir, err)
		}
		checkNoStaging(t, filepath.Dir(o.Dir))
	}
}

func TestPullRefusesExistingDir(t *testing.T) {
	o := pullOptions(t, Source{Mirror: "http://127.0.0.1:1/debian", Suite: "bookworm"},
		func(context.Context, Kernel, io.Writer) error { return nil })
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Pull(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Pull into an existing dir = %v, want already exists", err)
	}
}

func TestPullRefusesFileNameThatIsNotADeb(t *testing.T) {
	a := archive{}
	packages := "Package: linux-image-cloud-amd64\nVersion: 1\nFilename: pool/..\nSize: 3\nSHA256: " + sha256Hex([]byte("deb")) + "\n"
	a[distsDir+indexPath+".xz"] = xzBytes(t, []byte(packages))
	a.sign(t, testRelease, archiveKey(t))
	o := pullOptions(t, a.serve(t), func(context.Context, Kernel, io.Writer) error { return nil })
	_, err := Pull(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "not a .deb") {
		t.Fatalf("Pull = %v, want a refusal of the file name", err)
	}
}
