package qemu

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"banger/internal/errdefs"
	"banger/internal/vmm"
	"banger/internal/vmm/consolelog"
)

// startTimeout bounds the wait for QEMU's QMP socket to answer.
const startTimeout = 10 * time.Second

// maxSocketPath is the longest path a unix socket address holds.
const maxSocketPath = 107

// Start launches QEMU for spec in its own session, so that it outlives
// the daemon, and returns once QMP answers query-status.
func (d *Driver) Start(ctx context.Context, spec vmm.Spec) (vmm.Info, error) {
	if err := validate(spec); err != nil {
		return vmm.Info{}, fmt.Errorf("starting VM %s: %w", spec.Name, err)
	}
	if _, ok, _ := findProcess(spec); ok {
		return vmm.Info{}, errdefs.AlreadyExists("starting VM %s: a QEMU already runs for %s", spec.Name, spec.RunDir)
	}
	a := d.accel()
	exited, pid, err := d.spawn(spec, a)
	if err != nil {
		return vmm.Info{}, fmt.Errorf("starting VM %s: %w", spec.Name, err)
	}
	status, err := waitQMP(ctx, spec, exited)
	if err != nil {
		select {
		case <-exited:
		default:
			syscall.Kill(pid, syscall.SIGKILL)
		}
		return vmm.Info{}, fmt.Errorf("starting VM %s: %w", spec.Name, err)
	}
	return vmm.Info{PID: pid, State: stateOf(status), Accelerator: a.Name, ConsoleLog: consolePath(spec)}, nil
}

// validate checks what QEMU would otherwise reject with a less clear error.
func validate(spec vmm.Spec) error {
	if spec.VCPU <= 0 {
		return errdefs.InvalidArgument("VCPU is %d, want at least 1", spec.VCPU)
	}
	if spec.MemoryMiB <= 0 {
		return errdefs.InvalidArgument("MemoryMiB is %d, want more than 0", spec.MemoryMiB)
	}
	if st, err := os.Stat(spec.RunDir); err != nil || !st.IsDir() {
		return errdefs.InvalidArgument("RunDir %q is not a directory", spec.RunDir)
	}
	if len(qmpPath(spec)) > maxSocketPath {
		return errdefs.InvalidArgument("RunDir %q is too long for a unix socket path in it", spec.RunDir)
	}
	if err := validateMemoryFile(spec); err != nil {
		return err
	}
	files := map[string]string{"Kernel": spec.Kernel, "Initrd": spec.Initrd}
	for _, disk := range spec.Disks {
		files["disk "+disk.ID] = disk.Path
	}
	for field, path := range files {
		if st, err := os.Stat(path); err != nil || st.IsDir() {
			return errdefs.InvalidArgument("%s %q is not a file", field, path)
		}
	}
	return nil
}

// validateMemoryFile checks spec's MemoryFile: a shared one is made by
// QEMU where missing, in a directory that must exist; a private one is
// a template's RAM, as large as the guest's.
func validateMemoryFile(spec vmm.Spec) error {
	if spec.MemoryFile == "" {
		return nil
	}
	if spec.MemoryShared {
		if st, err := os.Stat(filepath.Dir(spec.MemoryFile)); err != nil || !st.IsDir() {
			return errdefs.InvalidArgument("MemoryFile %q is not in a directory", spec.MemoryFile)
		}
		return nil
	}
	st, err := os.Stat(spec.MemoryFile)
	if err != nil || !st.Mode().IsRegular() {
		return errdefs.InvalidArgument("MemoryFile %q is not a file", spec.MemoryFile)
	}
	if want := int64(spec.MemoryMiB) << 20; st.Size() != want {
		return errdefs.InvalidArgument("MemoryFile %q holds %d bytes, not the guest's %d MiB: it was saved for another machine", spec.MemoryFile, st.Size(), spec.MemoryMiB)
	}
	return nil
}

// spawn starts QEMU, with extra arguments after spec's, in its own session with its output in qemu.log;
// exited closes when it exits.
func (d *Driver) spawn(spec vmm.Spec, a Accel, extra ...string) (exited <-chan struct{}, pid int, err error) {
	log, err := os.Create(filepath.Join(spec.RunDir, qemuLogName))
	if err != nil {
		return nil, 0, fmt.Errorf("creating QEMU's log: %w", err)
	}
	defer log.Close()
	console, err := consolelog.Create(consolePath(spec)) // QEMU appends to it
	if err != nil {
		return nil, 0, err
	}
	console.Close()
	cmd := exec.Command(d.binary(), append(d.Args(spec, a), extra...)...)
	cmd.Dir = spec.RunDir
	cmd.Stdout, cmd.Stderr = log, log
	exited, err = vmm.Spawn(cmd)
	if err != nil {
		return nil, 0, err
	}
	return exited, cmd.Process.Pid, nil
}

// waitQMP polls QMP until it answers query-status, QEMU exits or the
// start deadline passes.
func waitQMP(ctx context.Context, spec vmm.Spec, exited <-chan struct{}) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	t := time.NewTicker(startPoll)
	defer t.Stop()
	for {
		status, err := qmpStatus(ctx, qmpPath(spec))
		if err == nil {
			return status, nil
		}
		select {
		case <-exited:
			return "", fmt.Errorf("QEMU exited: %s", logTail(spec, 20))
		case <-ctx.Done():
			return "", fmt.Errorf("QMP did not answer within %v: %w; QEMU's log: %s", startTimeout, err, logTail(spec, 20))
		case <-t.C:
		}
	}
}

// logTail returns the last n lines of qemu.log.
func logTail(spec vmm.Spec, n int) string {
	return vmm.LogTail(filepath.Join(spec.RunDir, qemuLogName), n)
}

func consolePath(spec vmm.Spec) string { return filepath.Join(spec.RunDir, consoleLogName) }
