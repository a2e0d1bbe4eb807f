package vmm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"banger/internal/atomicfile"
)

// PollInterval is how often the process waits look at a process again.
const PollInterval = 50 * time.Millisecond

// Process is a VMM process found through a RunDir's pid file.
type Process struct {
	PID     int
	Cmdline []string
}

// FindProcess returns the live process that pidFile names, or ok false when
// there is none: no pid file, a dead pid, a zombie, or a pid recycled by a
// process whose command line owns rejects. owns is the guard that keeps a
// recycled pid from ever being signalled.
func FindProcess(pidFile string, owns func(cmdline []string) bool) (p Process, ok bool, err error) {
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return Process{}, false, nil
	}
	if err != nil {
		return Process{}, false, fmt.Errorf("reading pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return Process{}, false, fmt.Errorf("pid file %s holds %q, not a pid", pidFile, bytes.TrimSpace(b))
	}
	if !Alive(pid) {
		return Process{}, false, nil
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return Process{}, false, nil // exited meanwhile
	}
	cmdline := splitCmdline(raw)
	if !owns(cmdline) {
		return Process{}, false, nil
	}
	return Process{PID: pid, Cmdline: cmdline}, true, nil
}

// WritePIDFile records pid in path atomically, for a VMM that does not
// write its own pid file.
func WritePIDFile(path string, pid int) error {
	if err := atomicfile.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing pid file: %w", err)
	}
	return nil
}

// splitCmdline splits /proc/PID/cmdline's NUL-separated arguments.
func splitCmdline(raw []byte) []string {
	raw = bytes.TrimSuffix(raw, []byte{0})
	if len(raw) == 0 {
		return nil
	}
	return strings.Split(string(raw), "\x00")
}

// Spawn starts cmd in a session of its own, so that it outlives the
// daemon and the terminal it was started from. A goroutine reaps it, so
// that it leaves no zombie while the daemon runs; exited closes then.
func Spawn(cmd *exec.Cmd) (exited <-chan struct{}, err error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running %s: %w", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	return done, nil
}

// Alive reports whether any thread of process pid runs, that is, is not
// a zombie. A process whose main thread has exited can still have others
// tearing down, holding its files (and so its sockets) open.
func Alive(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return false
	}
	for _, task := range tasks {
		if running(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name())) {
			return true
		}
	}
	return false
}

// running reports whether the thread whose stat file is at path is not a
// zombie.
func running(stat string) bool {
	b, err := os.ReadFile(stat)
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

// WaitGone polls until pid is no longer alive or ctx ends.
func WaitGone(ctx context.Context, pid int) error {
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for Alive(pid) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Kill sends SIGKILL to p and waits for it to go.
func Kill(ctx context.Context, p Process) error {
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing pid %d: %w", p.PID, err)
	}
	if err := WaitGone(ctx, p.PID); err != nil {
		return fmt.Errorf("waiting for pid %d to die: %w", p.PID, err)
	}
	return nil
}

// LogTail returns the last n lines of the log at path, or a note saying
// why there are none, for error messages.
func LogTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	lines = lines[max(0, len(lines)-n):]
	if len(lines) == 0 || len(lines[0]) == 0 {
		return "(empty log)"
	}
	return string(bytes.Join(lines, []byte("\n")))
}
