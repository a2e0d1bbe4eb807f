package vmm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSplitCmdline(t *testing.T) {
	got := splitCmdline([]byte("qemu\x00-m\x00512\x00"))
	if len(got) != 3 || got[0] != "qemu" || got[2] != "512" {
		t.Errorf("splitCmdline = %q", got)
	}
	if got := splitCmdline(nil); got != nil {
		t.Errorf("splitCmdline(nil) = %q, want nil", got)
	}
}

func TestAlive(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Error("Alive(self) = false")
	}
	if Alive(1 << 30) {
		t.Error("Alive(1<<30) = true, beyond pid_max")
	}
}

func TestFindProcess(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "vmm.pid")
	yes := func([]string) bool { return true }
	no := func([]string) bool { return false }

	if _, ok, err := FindProcess(pidFile, yes); ok || err != nil {
		t.Errorf("FindProcess without a pid file = %v, %v; want not found", ok, err)
	}
	if err := WritePIDFile(pidFile, os.Getpid()); err != nil {
		t.Fatal(err)
	}
	p, ok, err := FindProcess(pidFile, yes)
	if !ok || err != nil || p.PID != os.Getpid() || len(p.Cmdline) == 0 {
		t.Errorf("FindProcess(self) = %+v, %v, %v", p, ok, err)
	}
	if _, ok, err := FindProcess(pidFile, no); ok || err != nil {
		t.Errorf("FindProcess of a process owns rejects = %v, %v; want not found", ok, err)
	}
	if err := WritePIDFile(pidFile, 1<<30); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := FindProcess(pidFile, yes); ok || err != nil {
		t.Errorf("FindProcess of a dead pid = %v, %v; want not found", ok, err)
	}
	if err := os.WriteFile(pidFile, []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := FindProcess(pidFile, yes); err == nil || !strings.Contains(err.Error(), "garbage") {
		t.Errorf("FindProcess of a bad pid file: %v, want an error quoting it", err)
	}
}

func TestSpawnAndKill(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	exited, err := Spawn(cmd)
	if err != nil {
		t.Skipf("no sleep to spawn: %v", err)
	}
	p := Process{PID: cmd.Process.Pid}
	t.Cleanup(func() { Kill(context.Background(), p) })
	if sid, _ := unix.Getsid(p.PID); sid != p.PID {
		t.Errorf("spawned process has session %d, want its own (%d)", sid, p.PID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := Kill(ctx, p); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	select {
	case <-exited:
	case <-ctx.Done():
		t.Fatal("exited did not close after Kill")
	}
	if Alive(p.PID) {
		t.Errorf("pid %d alive after Kill", p.PID)
	}
}

func TestLogTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if got := LogTail(path, 2); !strings.Contains(got, "no log") {
		t.Errorf("LogTail of a missing file = %q", got)
	}
	os.WriteFile(path, []byte("one\ntwo\nthree\n"), 0o644)
	if got := LogTail(path, 2); got != "two\nthree" {
		t.Errorf("LogTail = %q, want the last two lines", got)
	}
	os.WriteFile(path, nil, 0o644)
	if got := LogTail(path, 2); got != "(empty log)" {
		t.Errorf("LogTail of an empty file = %q", got)
	}
}
