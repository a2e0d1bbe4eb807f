package qemu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"banger/internal/errdefs"
	"banger/internal/vmm"
)

// fakeSpec is a spec whose files exist, for a fake QEMU.
func fakeSpec(t *testing.T) vmm.Spec {
	t.Helper()
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	if err := os.Mkdir(runDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"vmlinuz", "initrd.img", "root.img"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return vmm.Spec{
		Name: "fake", VCPU: 1, MemoryMiB: 64,
		Kernel: filepath.Join(dir, "vmlinuz"), Initrd: filepath.Join(dir, "initrd.img"),
		Disks:       []vmm.Disk{{ID: "root", Path: filepath.Join(dir, "root.img"), Format: "raw"}},
		RunDir:      runDir,
		AgentSocket: filepath.Join(runDir, "agent.sock"),
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startFake starts a fake QEMU and kills it when the test ends.
func startFake(t *testing.T, d *Driver, spec vmm.Spec) vmm.Info {
	t.Helper()
	info, err := d.Start(testCtx(t), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { d.Kill(context.Background(), spec) })
	return info
}

func TestFakeLifecycle(t *testing.T) {
	d, spec := fakeDriver(t), fakeSpec(t)
	ctx := testCtx(t)
	info := startFake(t, d, spec)
	if info.PID <= 0 || info.State != vmm.StateRunning || info.Accelerator != "tcg" || info.ConsoleLog != filepath.Join(spec.RunDir, "console.log") {
		t.Errorf("Start = %+v", info)
	}
	if _, err := d.Start(ctx, spec); errdefs.KindOf(err) != errdefs.KindAlreadyExists {
		t.Errorf("second Start: %v, want AlreadyExists", err)
	}
	attached, err := d.Attach(ctx, spec)
	if err != nil || attached != info {
		t.Errorf("Attach = %+v, %v; want %+v", attached, err, info)
	}
	if err := d.Stop(ctx, spec, 5*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if vmm.Alive(info.PID) {
		t.Errorf("pid %d alive after Stop", info.PID)
	}
	assertStopped(t, d, spec)
	if err := d.Stop(ctx, spec, time.Second); err != nil {
		t.Errorf("Stop of a stopped VM: %v", err)
	}
}

func assertStopped(t *testing.T, d *Driver, spec vmm.Spec) {
	t.Helper()
	ctx := testCtx(t)
	if st, err := d.State(ctx, spec); err != nil || st != vmm.StateStopped {
		t.Errorf("State = %q, %v; want stopped", st, err)
	}
	if info, err := d.Attach(ctx, spec); err != nil || info.State != vmm.StateStopped || info.PID != 0 {
		t.Errorf("Attach = %+v, %v; want stopped", info, err)
	}
	if err := d.Wait(ctx, spec); err != nil {
		t.Errorf("Wait on a stopped VM: %v", err)
	}
	if err := d.Kill(ctx, spec); err != nil {
		t.Errorf("Kill of a stopped VM: %v", err)
	}
}

// A guest that ignores the power button is quit through QMP after grace.
func TestFakeStopIgnoredPowerdown(t *testing.T) {
	t.Setenv(fakePowerdownEnv, "ignore")
	d, spec := fakeDriver(t), fakeSpec(t)
	info := startFake(t, d, spec)
	start := time.Now()
	if err := d.Stop(testCtx(t), spec, 300*time.Millisecond); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if vmm.Alive(info.PID) {
		t.Errorf("pid %d alive after Stop", info.PID)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("Stop took %v, less than its grace: it did not wait for the powerdown", took)
	}
	assertStopped(t, d, spec)
}

// A pid file naming a live process that is not this VM's QEMU (a recycled
// pid) must be left alone.
func TestRecycledPidIsNotKilled(t *testing.T) {
	d, spec := fakeDriver(t), fakeSpec(t)
	self := []byte(strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(filepath.Join(spec.RunDir, "qemu.pid"), self, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if err := d.Kill(ctx, spec); err != nil {
		t.Errorf("Kill: %v", err)
	}
	if err := d.Stop(ctx, spec, time.Second); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if st, err := d.State(ctx, spec); err != nil || st != vmm.StateStopped {
		t.Errorf("State = %q, %v; want stopped", st, err)
	}
	// Still here: the test process was not signalled.
}

func TestStartReportsQEMUExit(t *testing.T) {
	t.Setenv(fakeQEMUFailEnv, "qemu-system-x86_64: -drive id=root: Could not open 'nowhere'")
	d, spec := fakeDriver(t), fakeSpec(t)
	_, err := d.Start(testCtx(t), spec)
	if err == nil || !strings.Contains(err.Error(), "Could not open 'nowhere'") {
		t.Errorf("Start of a failing QEMU: %v, want the tail of its log", err)
	}
}

func TestStartValidates(t *testing.T) {
	d := fakeDriver(t)
	cases := []struct {
		field string
		edit  func(*vmm.Spec)
	}{
		{"Kernel", func(s *vmm.Spec) { s.Kernel += ".missing" }},
		{"Initrd", func(s *vmm.Spec) { s.Initrd = "" }},
		{"disk root", func(s *vmm.Spec) { s.Disks[0].Path += ".missing" }},
		{"RunDir", func(s *vmm.Spec) { s.RunDir += ".missing" }},
		{"VCPU", func(s *vmm.Spec) { s.VCPU = 0 }},
		{"MemoryMiB", func(s *vmm.Spec) { s.MemoryMiB = -1 }},
	}
	for _, c := range cases {
		spec := fakeSpec(t)
		c.edit(&spec)
		_, err := d.Start(testCtx(t), spec)
		if errdefs.KindOf(err) != errdefs.KindInvalidArgument || !strings.Contains(err.Error(), c.field) {
			t.Errorf("Start with a bad %s: %v, want an invalid argument naming it", c.field, err)
		}
	}
}

// A Stop whose caller gives up does not fall back to SIGKILL.
func TestStopCancelledDoesNotKill(t *testing.T) {
	t.Setenv(fakePowerdownEnv, "ignore")
	d, spec := fakeDriver(t), fakeSpec(t)
	info := startFake(t, d, spec)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Stop(ctx, spec, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Stop with a cancelled context = %v, want context.Canceled", err)
	}
	if !vmm.Alive(info.PID) {
		t.Errorf("pid %d was killed by a cancelled Stop", info.PID)
	}
}
