package initramfs

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banger/internal/e2etest"
	"banger/internal/kernel/kerneltest"
)

const bootMarker = "BANGER-ROOT-OK"

// TestBootsToUserspace boots Debian's cloud kernel with an initramfs from
// Build and a root disk whose /sbin/init prints bootMarker, under QEMU's
// microvm machine, and waits for the marker on the serial console.
func TestBootsToUserspace(t *testing.T) {
	e2etest.Require(t, "boot test", e2etest.Boot)
	kernel := kerneltest.DebianCloud(t)
	dir := t.TempDir()

	agent := filepath.Join(dir, "banger-vsock-agent")
	kerneltest.GoBuild(t, agent, "banger/cmd/banger-vsock-agent")
	initrd := filepath.Join(dir, "initrd.img")
	writeInitramfs(t, initrd, Options{InitBinary: agent, ModulesDir: kernel.ModulesDir, Modules: DefaultModules})
	rootfs := kerneltest.Rootfs(t, dir, "./testdata/rootinit", "64M")

	args := qemuArgs(kernel.Vmlinuz, initrd, rootfs)
	t.Logf("qemu-system-x86_64 %s", shellJoin(args))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	console, err := bootUntil(ctx, args, bootMarker)
	if err != nil {
		t.Fatalf("%v; last console lines:\n%s", err, strings.Join(console.last(50), "\n"))
	}
	t.Logf("QEMU start to %s: %v", bootMarker, time.Since(start).Round(time.Millisecond))
	for _, want := range []string{"virtio_blk", "virtio_console", "vmw_vsock_virtio_transport", "virtio_net", "overlay"} {
		if !console.contains("rootinit: pid=1 modules=", want) {
			t.Errorf("module %s is not loaded; last console lines:\n%s", want, strings.Join(console.last(50), "\n"))
		}
	}
}

// TestDefaultModulesInCloudKernel checks that every default module is a
// module of Debian's cloud kernel, found by the index, or built in: a
// name the kernel lacks would fail every VM's initramfs build.
func TestDefaultModulesInCloudKernel(t *testing.T) {
	e2etest.Require(t, "boot test", e2etest.Boot)
	kernel := kerneltest.DebianCloud(t)
	ix, err := loadIndex(kernel.ModulesDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.resolve(DefaultModules); err != nil {
		t.Fatalf("resolving DefaultModules in %s: %v", kernel.ModulesDir, err)
	}
	// The overlay root needs overlayfs, a module (CONFIG_OVERLAY_FS=m)
	// in Debian's cloud kernel.
	if p, ok := ix.paths["overlay"]; !ok || !strings.Contains(p, "overlay") {
		t.Errorf("overlay is not a module of %s (path %q): load it another way or drop it from DefaultModules", kernel.ModulesDir, p)
	}
}

func writeInitramfs(t *testing.T, path string, o Options) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Build(f, o); err != nil {
		t.Fatalf("Build: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// qemuArgs boots a microvm whose virtio-mmio devices the kernel finds
// through ACPI, under KVM where it can run stock kernels, else under TCG.
func qemuArgs(vmlinuz, initrd, rootfs string) []string {
	accel := []string{"-accel", "kvm", "-cpu", "host"}
	cmdline := "console=ttyS0 root=/dev/vda rw panic=-1"
	if !kvmUsable() {
		accel = []string{"-accel", "tcg,thread=multi,tb-size=256", "-cpu", "max"}
		cmdline += " tsc_early_khz=2100000 tsc=reliable"
	}
	args := append([]string{"-M", "microvm"}, accel...)
	return append(args,
		"-m", "256", "-smp", "1",
		"-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
		"-serial", "stdio",
		"-kernel", vmlinuz, "-initrd", initrd, "-append", cmdline,
		"-drive", "id=root,file="+rootfs+",format=raw,if=none",
		"-device", "virtio-blk-device,drive=root",
	)
}

// kvmUsable reports whether KVM can run a stock kernel: Intel's or AMD's
// KVM module is loaded (not PVM's) and /dev/kvm opens.
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

// bootUntil runs QEMU until marker appears on its console, QEMU exits or
// ctx ends, and returns what the console printed.
func bootUntil(ctx context.Context, args []string, marker string) (*consoleLog, error) {
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return &consoleLog{}, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return &consoleLog{}, err
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	log := &consoleLog{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		log.lines = append(log.lines, line)
		if strings.Contains(line, marker) {
			return log, nil
		}
	}
	if ctx.Err() != nil {
		return log, fmt.Errorf("no %s on the console before the deadline", marker)
	}
	return log, fmt.Errorf("QEMU exited without printing %s", marker)
}

// consoleLog is what a VM printed on its serial console.
type consoleLog struct{ lines []string }

func (c *consoleLog) last(n int) []string {
	return c.lines[max(0, len(c.lines)-n):]
}

// contains reports whether a line starting with prefix contains s.
func (c *consoleLog) contains(prefix, s string) bool {
	for _, l := range c.lines {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// shellJoin quotes args for a shell, for logging a command line to reuse.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
