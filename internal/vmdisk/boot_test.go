package vmdisk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"banger/internal/config"
	"banger/internal/e2etest"
	"banger/internal/initramfs"
	"banger/internal/kernel/kerneltest"
	"banger/internal/vmm"
)

const imageProfile = "# the image's .profile\n"

// TestBootOverlayWithWorkDisk boots Debian's cloud kernel with banger's
// initramfs on an overlay root and a work disk, lets the guest write to /
// and /root, and checks on the host that the image is untouched, that the
// write to / is on the upper disk and that the one to /root is on the work
// disk, owned by root like the files the host made there.
func TestBootOverlayWithWorkDisk(t *testing.T) {
	e2etest.Require(t, "disk boot test", e2etest.Boot.With(e2etest.Debugfs, e2etest.E2fsck))
	kernel := kerneltest.DebianCloud(t)
	dir := t.TempDir()
	initrd := buildInitrd(t, dir, kernel.ModulesDir)
	image := diskImage(t, dir)
	imageSum := sha256File(t, image)

	vmDir := filepath.Join(dir, "vm")
	if err := os.Mkdir(vmDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Overlay mode whatever the filesystem here could clone.
	root, err := rootMaker{clone: noReflink, mkfs: runMkfs}.prepare(ctx, image, vmDir)
	if err != nil {
		t.Fatalf("PrepareRoot: %v", err)
	}
	home := t.TempDir()
	writeFile(t, filepath.Join(home, ".gitconfig"), "[user]\n", 0o644)
	work := filepath.Join(vmDir, "work.ext4")
	if err := BuildWork(ctx, WorkOptions{
		Path: work, Size: 64 << 20, AuthorizedKeys: []byte(testKey), HostHome: home,
		FileSync: []config.FileSync{{Host: "~/.gitconfig", Guest: "~/.gitconfig"}},
	}); err != nil {
		t.Fatalf("BuildWork: %v", err)
	}
	// The host's files keep the daemon user's uid, which is not root's
	// unless the test runs as root: make it so either way.
	for _, p := range []string{"/.ssh/authorized_keys", "/.gitconfig"} {
		setUID(t, work, p, 1234)
	}

	disks := append(root.Disks(), vmm.Disk{ID: "work", Path: work, Format: "raw"})
	cmdline := root.Cmdline() + " " + WorkCmdline(root.WorkDevice()) + " panic=-1"
	console := bootQEMU(ctx, t, kernel.Vmlinuz, initrd, cmdline, disks)
	for _, line := range strings.Split(console, "\n") {
		if strings.Contains(line, "diskinit:") || strings.Contains(line, "banger-init:") {
			t.Log(strings.TrimSpace(line))
		}
	}
	for _, want := range []string{
		"diskinit: mount overlay / overlay rw",
		"diskinit: mount /dev/vda /run/banger/lower ext4 ro",
		"diskinit: mount /dev/vdb /run/banger/upper-disk ext4 rw",
		"diskinit: mount /dev/vdc /root ext4 rw",
		"diskinit: DONE",
	} {
		if !strings.Contains(console, want) {
			t.Errorf("no %q on the console", want)
		}
	}
	if strings.Contains(console, "FAIL") || t.Failed() {
		t.Fatalf("console:\n%s", tailLines(console, 60))
	}

	if got := sha256File(t, image); got != imageSum {
		t.Errorf("the image changed: sha256 %s, was %s", got, imageSum)
	}
	fsck(t, root.Upper)
	fsck(t, work)
	if got := catDisk(t, root.Upper, "/upper/written-by-guest"); got != "root write\n" {
		t.Errorf("the write to / is not on the upper disk: /upper/written-by-guest holds %q", got)
	}
	for p, want := range map[string]string{"/written-by-guest": "work write\n", "/.profile": imageProfile, "/.ssh/authorized_keys": testKey} {
		if got := catDisk(t, work, p); got != want {
			t.Errorf("work disk %s holds %q, want %q", p, got, want)
		}
	}
	for _, p := range []string{"/", "/written-by-guest", "/.ssh/authorized_keys", "/.gitconfig", "/.profile", "/" + WorkMarker} {
		if ino, ok := statDisk(t, work, p); !ok || ino.UID != 0 {
			t.Errorf("work disk %s: %+v (present %v), want owned by root", p, ino, ok)
		}
	}
	if ino, _ := statDisk(t, work, "/"); ino.Perm != 0o700 {
		t.Errorf("the work disk's top, the guest's /root, has mode %o, want 0700 like the image's /root", ino.Perm)
	}
}

// buildInitrd builds banger's initramfs with the default modules.
func buildInitrd(t *testing.T, dir, modulesDir string) string {
	agent := filepath.Join(dir, "banger-vsock-agent")
	kerneltest.GoBuild(t, agent, "banger/cmd/banger-vsock-agent")
	initrd := filepath.Join(dir, "initrd.img")
	f, err := os.Create(initrd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := initramfs.Build(f, initramfs.Options{InitBinary: agent, ModulesDir: modulesDir, Modules: initramfs.DefaultModules}); err != nil {
		t.Fatalf("building the initramfs: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return initrd
}

// diskImage makes a small image whose /sbin/init is diskinit and whose
// /root holds a .profile, as Debian's does.
func diskImage(t *testing.T, dir string) string {
	tree := filepath.Join(dir, "rootfs")
	for _, d := range []string{"sbin", "dev", "proc", "sys", "run", "root"} {
		if err := os.MkdirAll(filepath.Join(tree, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(tree, "root"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(tree, "root", ".profile"), imageProfile, 0o644)
	kerneltest.GoBuild(t, filepath.Join(tree, "sbin", "init"), "./testdata/diskinit")
	img := filepath.Join(dir, "rootfs.ext4")
	kerneltest.Run(t, dir, "mkfs.ext4", "-q", "-E", "root_owner=0:0", "-d", tree, img, "64M")
	return img
}

// bootQEMU boots a microvm with disks attached as the QEMU driver does,
// waits for it to power off, and returns its console output.
func bootQEMU(ctx context.Context, t *testing.T, kernel, initrd, cmdline string, disks []vmm.Disk) string {
	accel := []string{"-accel", "kvm", "-cpu", "host"}
	if !kvmUsable() {
		accel = []string{"-accel", "tcg,thread=multi,tb-size=256", "-cpu", "max"}
		cmdline += " tsc_early_khz=2100000 tsc=reliable"
	}
	args := append([]string{"-M", "microvm"}, accel...)
	args = append(args, "-m", "256", "-smp", "1",
		"-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-serial", "stdio",
		"-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0 "+cmdline)
	for _, d := range disks {
		drive := "id=" + d.ID + ",file=" + d.Path + ",format=" + d.Format + ",if=none"
		if d.ReadOnly {
			drive += ",readonly=on"
		}
		args = append(args, "-drive", drive, "-device", "virtio-blk-device,drive="+d.ID)
	}
	start := time.Now()
	out, err := exec.CommandContext(ctx, "qemu-system-x86_64", args...).CombinedOutput()
	t.Logf("QEMU ran %v: qemu-system-x86_64 %s", time.Since(start).Round(time.Millisecond), strings.Join(args, " "))
	if err != nil {
		t.Fatalf("QEMU: %v; console:\n%s", err, tailLines(string(out), 60))
	}
	return string(out)
}

// kvmUsable reports whether KVM can run a stock kernel: Intel's or AMD's
// KVM module is loaded and /dev/kvm opens.
func kvmUsable() bool {
	for _, m := range []string{"kvm_intel", "kvm_amd"} {
		if _, err := os.Stat("/sys/module/" + m); err != nil {
			continue
		}
		if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
			f.Close()
			return true
		}
	}
	return false
}

// fsck replays img's journal, if the guest left one to replay, and checks
// the filesystem is sound.
func fsck(t *testing.T, img string) {
	t.Helper()
	bin, err := findTool("e2fsck")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-f", "-y", img).CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) { // 1: errors corrected
		t.Fatalf("e2fsck %s: %v\n%s", img, err, out)
	}
}

// setUID changes the owner of p in img, as a host user other than root
// would have made it.
func setUID(t *testing.T, img, p string, uid int) {
	t.Helper()
	bin, err := findTool("debugfs")
	if err != nil {
		t.Fatal(err)
	}
	req := "set_inode_field " + p + " uid " + strconv.Itoa(uid)
	if out, err := exec.Command(bin, "-w", "-R", req, img).CombinedOutput(); err != nil {
		t.Fatalf("debugfs -w -R %q: %v\n%s", req, err, out)
	}
	if ino, _ := statDisk(t, img, p); ino.UID != uid {
		t.Fatalf("%s in %s still belongs to uid %d", p, img, ino.UID)
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
