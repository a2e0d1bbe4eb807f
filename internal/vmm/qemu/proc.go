package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"banger/internal/vmm"
)

// pollInterval is how often waits look at a process or a socket again.
const pollInterval = 50 * time.Millisecond

// process is a VMM process found through a RunDir's pid file.
type process struct {
	pid     int
	cmdline []string
}

// findProcess returns the live QEMU process that spec's pid file names, or
// ok false when there is none: no pid file, a dead pid, a zombie, or a pid
// recycled by a process that is not this VM's QEMU.
func findProcess(spec vmm.Spec) (p process, ok bool, err error) {
	b, err := os.ReadFile(pidPath(spec))
	if errors.Is(err, os.ErrNotExist) {
		return process{}, false, nil
	}
	if err != nil {
		return process{}, false, fmt.Errorf("reading pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return process{}, false, fmt.Errorf("pid file %s holds %q, not a pid", pidPath(spec), bytes.TrimSpace(b))
	}
	if !alive(pid) {
		return process{}, false, nil
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return process{}, false, nil // exited meanwhile
	}
	cmdline := splitCmdline(raw)
	if !ownsProcess(cmdline, spec.RunDir) {
		return process{}, false, nil
	}
	return process{pid: pid, cmdline: cmdline}, true, nil
}

// splitCmdline splits /proc/PID/cmdline's NUL-separated arguments.
func splitCmdline(raw []byte) []string {
	raw = bytes.TrimSuffix(raw, []byte{0})
	if len(raw) == 0 {
		return nil
	}
	return strings.Split(string(raw), "\x00")
}

// ownsProcess reports whether cmdline is a QEMU started for runDir: its
// program's name contains "qemu" and it writes runDir's pid file. Checking
// both keeps a recycled pid from being signalled.
func ownsProcess(cmdline []string, runDir string) bool {
	if len(cmdline) == 0 || !strings.Contains(filepath.Base(cmdline[0]), "qemu") {
		return false
	}
	want := filepath.Join(runDir, pidFileName)
	for i := 1; i+1 < len(cmdline); i++ {
		if cmdline[i] == "-pidfile" && filepath.Clean(cmdline[i+1]) == want {
			return true
		}
	}
	return false
}

// accelOf returns the accelerator named by a QEMU command line's -accel.
func accelOf(cmdline []string) string {
	for i := 0; i+1 < len(cmdline); i++ {
		if cmdline[i] == "-accel" {
			name, _, _ := strings.Cut(cmdline[i+1], ",")
			return name
		}
	}
	return ""
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself hold ") ".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	state := b[i+2]
	return state != 'Z' && state != 'X'
}

// waitGone polls until pid is no longer alive or ctx ends.
func waitGone(ctx context.Context, pid int) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for alive(pid) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// kill sends SIGKILL to p and waits for it to go.
func kill(ctx context.Context, p process) error {
	if err := syscall.Kill(p.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing QEMU pid %d: %w", p.pid, err)
	}
	if err := waitGone(ctx, p.pid); err != nil {
		return fmt.Errorf("waiting for QEMU pid %d to die: %w", p.pid, err)
	}
	return nil
}
