package qemu

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banger/internal/e2etest"
	"banger/internal/initramfs"
	"banger/internal/vmm"

	"banger/internal/kernel/kerneltest"
)

const e2eMarker = "BANGER-QEMU-DRIVER-OK"

// TestE2E boots Debian's cloud kernel with banger's initramfs and a tiny
// root disk under the real QEMU, through the Driver, with no network
// device.
func TestE2E(t *testing.T) {
	e2etest.Require(t, "qemu end-to-end test", e2etest.Boot)
	assets := buildE2EAssets(t)
	d := &Driver{}
	t.Run("BootStop", func(t *testing.T) { testE2EBootStop(t, d, assets) })
	t.Run("Kill", func(t *testing.T) { testE2EKill(t, d, assets) })
	t.Run("SaveRestore", func(t *testing.T) { testE2ESaveRestore(t, d, assets) })
	t.Run("TemplateMemory", func(t *testing.T) { testE2ETemplateMemory(t, d, assets) })
	t.Run("QEMUExitReported", func(t *testing.T) {
		spec := assets.spec(t)
		spec.Disks[0].Format = "qcow2" // the image is raw: QEMU exits at once
		_, err := d.Start(testCtx(t), spec)
		if err == nil || !strings.Contains(err.Error(), "qcow2") {
			t.Errorf("Start with a raw disk said to be qcow2: %v, want QEMU's complaint", err)
		}
		t.Logf("Start error: %v", err)
	})
	t.Run("MissingKernel", func(t *testing.T) {
		spec := assets.spec(t)
		spec.Kernel = filepath.Join(t.TempDir(), "no-vmlinuz")
		_, err := d.Start(testCtx(t), spec)
		if err == nil || !strings.Contains(err.Error(), "Kernel") || !strings.Contains(err.Error(), spec.Kernel) {
			t.Errorf("Start with a missing kernel: %v, want an error naming Kernel and %s", err, spec.Kernel)
		}
	})
}

func testE2EBootStop(t *testing.T, d *Driver, a e2eAssets) {
	spec := a.spec(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	info, err := d.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { d.Kill(context.Background(), spec) })
	t.Logf("Start returned after %v: %+v", time.Since(start).Round(time.Millisecond), info)
	if want := DetectAccel().Name; info.Accelerator != want {
		t.Errorf("Accelerator = %q, want %q", info.Accelerator, want)
	}
	if err := waitConsole(ctx, info.ConsoleLog, e2eMarker, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("QEMU start to %s: %v", e2eMarker, time.Since(start).Round(time.Millisecond))
	if !consoleHas(info.ConsoleLog, "markerinit: virtio-ports="+agentPortName) {
		t.Errorf("the guest has no virtio-serial port %s; console:\n%s", agentPortName, tail(info.ConsoleLog))
	}
	if st, err := d.State(ctx, spec); err != nil || st != vmm.StateRunning {
		t.Errorf("State = %q, %v; want running", st, err)
	}
	if st, err := os.Stat(spec.AgentSocket); err != nil || st.Mode().Type() != os.ModeSocket {
		t.Errorf("agent socket %s: %v, mode %v; want a unix socket", spec.AgentSocket, err, st)
	}
	if got, err := d.Attach(ctx, spec); err != nil || got.PID != info.PID || got.Accelerator != info.Accelerator {
		t.Errorf("Attach = %+v, %v; want %+v", got, err, info)
	}
	stopped := time.Now()
	if err := d.Stop(ctx, spec, 10*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %v", time.Since(stopped).Round(time.Millisecond))
	if vmm.Alive(info.PID) {
		t.Errorf("QEMU pid %d alive after Stop", info.PID)
	}
	if st, err := d.State(ctx, spec); err != nil || st != vmm.StateStopped {
		t.Errorf("State after Stop = %q, %v; want stopped", st, err)
	}
}

func testE2EKill(t *testing.T, d *Driver, a e2eAssets) {
	spec := a.spec(t)
	ctx := testCtx(t)
	info, err := d.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { d.Kill(context.Background(), spec) })
	if err := d.Kill(ctx, spec); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if vmm.Alive(info.PID) {
		t.Errorf("QEMU pid %d alive after Kill", info.PID)
	}
	if err := d.Wait(ctx, spec); err != nil {
		t.Errorf("Wait after Kill: %v", err)
	}
	if st, err := d.State(ctx, spec); err != nil || st != vmm.StateStopped {
		t.Errorf("State after Kill = %q, %v; want stopped", st, err)
	}
}

// testE2ESaveRestore saves a running guest's state, and restores it in
// another QEMU with another run dir: the guest goes on where it was, it
// does not boot again. A damaged state file is a clear error.
func testE2ESaveRestore(t *testing.T, d *Driver, a e2eAssets) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	spec := a.spec(t)
	info, err := d.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { d.Kill(context.Background(), spec) })
	if err := waitConsole(ctx, info.ConsoleLog, "markerinit: alive 2", 90*time.Second); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state")
	saved := time.Now()
	if err := d.SaveState(ctx, spec, state); err != nil {
		t.Fatalf("SaveState: %v", err)
	}
	st, err := os.Stat(state)
	if err != nil || st.Size() == 0 {
		t.Fatalf("state file: %v, %v", st, err)
	}
	t.Logf("saved %d MiB in %v", st.Size()>>20, time.Since(saved).Round(time.Millisecond))
	// A snapshot of a VM that goes on: the saved guest runs again.
	beats := consoleCount(info.ConsoleLog, "markerinit: alive")
	if err := d.Resume(ctx, spec); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if err := waitFor(ctx, 30*time.Second, func() bool { return consoleCount(info.ConsoleLog, "markerinit: alive") > beats }); err != nil {
		t.Fatalf("the resumed guest made no heartbeat: %v; console:\n%s", err, tail(info.ConsoleLog))
	}
	if err := d.Kill(ctx, spec); err != nil {
		t.Fatal(err)
	}

	clone := a.spec(t)
	restored := time.Now()
	info, err = d.Restore(ctx, clone, state)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	t.Cleanup(func() { d.Kill(context.Background(), clone) })
	if err := waitConsole(ctx, info.ConsoleLog, "markerinit: alive", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("restore to a heartbeat: %v", time.Since(restored).Round(time.Millisecond))
	if consoleHas(info.ConsoleLog, "Linux version") || consoleHas(info.ConsoleLog, e2eMarker) {
		t.Errorf("the restored guest booted again instead of going on; console:\n%s", tail(info.ConsoleLog))
	}
	if s, err := d.State(ctx, clone); err != nil || s != vmm.StateRunning {
		t.Errorf("State after Restore = %q, %v; want running", s, err)
	}
	d.Kill(ctx, clone)

	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, []byte("not a saved state"), 0o600)
	bad := a.spec(t)
	if _, err := d.Restore(ctx, bad, junk); err == nil {
		d.Kill(ctx, bad)
		t.Fatal("Restore from a damaged state succeeded")
	} else {
		t.Logf("damaged state: %v", err)
	}
	if _, err := d.Restore(ctx, a.spec(t), filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "saved state") {
		t.Errorf("Restore from a missing file: %v", err)
	}
}

// waitConsole polls the console log for marker.
func waitConsole(ctx context.Context, path, marker string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !consoleHas(path, marker) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("no %s on the console within %v; console:\n%s", marker, limit, tail(path))
		case <-tick.C:
		}
	}
	return nil
}

func consoleCount(path, s string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), s)
}

// waitFor polls cond until it holds or limit passes.
func waitFor(ctx context.Context, limit time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

func consoleHas(path, s string) bool {
	b, _ := os.ReadFile(path)
	return strings.Contains(string(b), s)
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(string(b), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}

// e2eAssets are the files a test VM boots from.
type e2eAssets struct{ kernel, initrd, rootfs string }

// spec is a VM of 2 vCPUs and 256 MiB with the root disk read-only, so
// that subtests can share it, and no NIC.
func (a e2eAssets) spec(t *testing.T) vmm.Spec {
	runDir := t.TempDir()
	return vmm.Spec{
		Name: "e2e", VCPU: 2, MemoryMiB: 256,
		Kernel: a.kernel, Initrd: a.initrd,
		Cmdline:     "root=/dev/vda ro panic=-1",
		Disks:       []vmm.Disk{{ID: "root", Path: a.rootfs, Format: "raw", ReadOnly: true}},
		RunDir:      runDir,
		AgentSocket: filepath.Join(runDir, "agent.sock"),
	}
}

func buildE2EAssets(t *testing.T) e2eAssets {
	k := kerneltest.DebianCloud(t)
	dir := t.TempDir()
	agent := filepath.Join(dir, "banger-vsock-agent")
	kerneltest.GoBuild(t, agent, "banger/cmd/banger-vsock-agent")
	initrd := filepath.Join(dir, "initrd.img")
	f, err := os.Create(initrd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := initramfs.Build(f, initramfs.Options{InitBinary: agent, ModulesDir: k.ModulesDir}); err != nil {
		t.Fatalf("building the initramfs: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	rootfs := kerneltest.Rootfs(t, dir, "./testdata/markerinit", "32M")
	return e2eAssets{kernel: k.Vmlinuz, initrd: initrd, rootfs: rootfs}
}
