package vmm

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// spawnSleep starts a process for a PIDFile to find and records its pid.
func spawnSleep(t *testing.T) (PIDFile, Process) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if _, err := Spawn(cmd); err != nil {
		t.Skipf("no sleep to spawn: %v", err)
	}
	p := Process{PID: cmd.Process.Pid}
	t.Cleanup(func() { Kill(context.Background(), p) })
	f := PIDFile{
		Path: filepath.Join(t.TempDir(), "vmm.pid"),
		Owns: func(cmdline []string) bool { return len(cmdline) > 0 && filepath.Base(cmdline[0]) == "sleep" },
	}
	if err := WritePIDFile(f.Path, p.PID); err != nil {
		t.Fatal(err)
	}
	return f, p
}

func TestPIDFileKillAndWait(t *testing.T) {
	f, p := spawnSleep(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	short, stop := context.WithTimeout(ctx, 100*time.Millisecond)
	defer stop()
	if err := f.Wait(short, "dev"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait on a running VM = %v, want DeadlineExceeded", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- f.Wait(ctx, "dev") }()
	if err := f.Kill(ctx, "dev"); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if err := <-waited; err != nil {
		t.Errorf("Wait: %v", err)
	}
	if Alive(p.PID) {
		t.Errorf("pid %d alive after Kill", p.PID)
	}
	// The pid file stays behind after SIGKILL; it names no live process.
	if err := f.Kill(ctx, "dev"); err != nil {
		t.Errorf("Kill of a stopped VM: %v", err)
	}
	if err := f.Wait(ctx, "dev"); err != nil {
		t.Errorf("Wait on a stopped VM: %v", err)
	}
}

// A pid file naming a live process that Owns rejects (a recycled pid) must
// be left alone.
func TestPIDFileLeavesRecycledPid(t *testing.T) {
	f, p := spawnSleep(t)
	f.Owns = func([]string) bool { return false }
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := f.Kill(ctx, "dev"); err != nil {
		t.Errorf("Kill: %v", err)
	}
	if err := f.Wait(ctx, "dev"); err != nil {
		t.Errorf("Wait: %v", err)
	}
	if !Alive(p.PID) {
		t.Errorf("pid %d was killed though Owns rejected it", p.PID)
	}
}

func TestPIDFileMissing(t *testing.T) {
	f := PIDFile{Path: filepath.Join(t.TempDir(), "vmm.pid"), Owns: func([]string) bool { return true }}
	if err := f.Kill(context.Background(), "dev"); err != nil {
		t.Errorf("Kill without a pid file: %v", err)
	}
	if err := f.Wait(context.Background(), "dev"); err != nil {
		t.Errorf("Wait without a pid file: %v", err)
	}
}
