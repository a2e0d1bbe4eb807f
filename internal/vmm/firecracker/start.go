package firecracker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"banger/internal/errdefs"
	"banger/internal/vmm"
	"banger/internal/vmm/consolelog"
)

// startTimeout bounds the wait for Firecracker's API socket to answer.
const startTimeout = 10 * time.Second

// reapTimeout bounds the wait for a Firecracker killed by a failed Start.
const reapTimeout = 5 * time.Second

// bootArgs come before Spec.Cmdline: the serial console, and a reboot
// through the keyboard controller, which Firecracker turns into its exit.
const bootArgs = "console=ttyS0 reboot=k panic=1"

// guestCID is the guest's vsock context id. Each Firecracker has its own
// hybrid vsock device, so every guest can use the first free id.
const guestCID = 3

// Start launches Firecracker for spec in its own session, so that it
// outlives the daemon, configures the VM over the API and boots it.
// It returns once Firecracker has started the guest's vCPUs. On failure
// it leaves no process behind.
func (d *Driver) Start(ctx context.Context, spec vmm.Spec) (vmm.Info, error) {
	if err := validate(spec); err != nil {
		return vmm.Info{}, fmt.Errorf("starting VM %s: %w", spec.Name, err)
	}
	if _, ok, _ := findProcess(spec); ok {
		return vmm.Info{}, errdefs.AlreadyExists("starting VM %s: a firecracker already runs for %s", spec.Name, spec.RunDir)
	}
	for _, path := range []string{apiSocketPath(spec), spec.AgentSocket} {
		if err := removeStaleSocket(path); err != nil {
			return vmm.Info{}, fmt.Errorf("starting VM %s: %w", spec.Name, err)
		}
	}
	exited, pid, err := d.spawn(spec)
	if err != nil {
		return vmm.Info{}, fmt.Errorf("starting VM %s: %w", spec.Name, err)
	}
	if err := boot(ctx, spec, exited); err != nil {
		abort(pid, exited)
		os.Remove(pidPath(spec))
		return vmm.Info{}, fmt.Errorf("starting VM %s: %w", spec.Name, err)
	}
	return vmm.Info{PID: pid, State: vmm.StateRunning, Accelerator: "kvm", ConsoleLog: consolePath(spec)}, nil
}

// removeStaleSocket removes the socket a dead Firecracker left at path,
// which a new one could not bind. A socket something still serves is
// refused rather than stolen.
func removeStaleSocket(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode().Type() != os.ModeSocket {
		return errdefs.FailedPrecondition("%s exists and is not a socket: move it away", path)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return errdefs.FailedPrecondition("%s is served by a process the pid file does not name: stop that firecracker first", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("removing stale socket: %w", err)
	}
	return nil
}

// spawn starts Firecracker in its own session, the guest's serial console
// in console.log and its own log in firecracker.log, and records its pid.
// exited closes when it exits.
func (d *Driver) spawn(spec vmm.Spec) (exited <-chan struct{}, pid int, err error) {
	// Opened for appending, so that bangerd can rotate it by truncating it.
	console, err := consolelog.Create(consolePath(spec))
	if err != nil {
		return nil, 0, err
	}
	defer console.Close()
	// Firecracker opens --log-path itself and does not create it.
	log, err := os.OpenFile(logPath(spec), os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("creating firecracker's log: %w", err)
	}
	defer log.Close()
	cmd := exec.Command(d.binary(), args(spec)...)
	cmd.Dir = spec.RunDir
	cmd.Stdout, cmd.Stderr = console, log
	if exited, err = vmm.Spawn(cmd); err != nil {
		return nil, 0, err
	}
	pid = cmd.Process.Pid
	if err := vmm.WritePIDFile(pidPath(spec), pid); err != nil {
		abort(pid, exited)
		return nil, 0, err
	}
	return exited, pid, nil
}

// args is Firecracker's command line for spec.
func args(spec vmm.Spec) []string {
	return []string{
		"--api-sock", apiSocketPath(spec),
		"--id", instanceID(spec.Name),
		"--log-path", logPath(spec),
	}
}

// instanceID turns a VM name into an id Firecracker accepts: 1 to 64
// letters, digits and dashes.
func instanceID(name string) string {
	id := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, name)
	if len(id) > 64 {
		id = id[:64]
	}
	if id == "" {
		return "banger-vm"
	}
	return id
}

// boot waits for the API, configures the VM and starts it. Errors from a
// Firecracker that died on the way carry the tail of its log.
func boot(ctx context.Context, spec vmm.Spec, exited <-chan struct{}) error {
	c := NewClient(apiSocketPath(spec))
	if err := waitAPI(ctx, c, spec, exited); err != nil {
		return err
	}
	if err := configure(ctx, c, spec); err != nil {
		select {
		case <-exited:
			return fmt.Errorf("configuring the VM: %w; firecracker exited: %s", err, vmm.LogTail(logPath(spec), 20))
		default:
			return fmt.Errorf("configuring the VM: %w (firecracker's log: %s)", err, logPath(spec))
		}
	}
	return nil
}

// waitAPI polls GET / until Firecracker answers, exits, or the start
// deadline passes.
func waitAPI(ctx context.Context, c *Client, spec vmm.Spec, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	t := time.NewTicker(vmm.PollInterval)
	defer t.Stop()
	for {
		_, err := c.DescribeInstance(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("firecracker exited: %s", vmm.LogTail(logPath(spec), 20))
		case <-ctx.Done():
			return errdefs.Wrap(errdefs.KindUnavailable, fmt.Errorf("firecracker's API did not answer within %v: %w; its log: %s", startTimeout, err, vmm.LogTail(logPath(spec), 20)))
		case <-t.C:
		}
	}
}

// configure sets the machine, boot source, drives, NICs and vsock of a
// fresh Firecracker, then starts the guest. Drives are plain virtio block
// devices in Spec order (/dev/vda first): banger's initramfs mounts the
// root itself, so none is Firecracker's root device and Firecracker adds
// no root= of its own.
func configure(ctx context.Context, c *Client, spec vmm.Spec) error {
	calls := []func() error{
		func() error {
			return c.PutMachineConfig(ctx, MachineConfig{VCPUCount: spec.VCPU, MemSizeMiB: spec.MemoryMiB})
		},
		func() error {
			args := strings.TrimSpace(bootArgs + " " + spec.Cmdline)
			return c.PutBootSource(ctx, BootSource{KernelImagePath: spec.Kernel, InitrdPath: spec.Initrd, BootArgs: args})
		},
	}
	for _, disk := range spec.Disks {
		calls = append(calls, func() error {
			return c.PutDrive(ctx, Drive{DriveID: disk.ID, PathOnHost: disk.Path, IsReadOnly: disk.ReadOnly})
		})
	}
	for _, nic := range spec.NICs {
		calls = append(calls, func() error {
			return c.PutNetworkInterface(ctx, NetworkInterface{IfaceID: nic.ID, HostDevName: nic.Tap, GuestMAC: nic.MAC})
		})
	}
	calls = append(calls,
		func() error { return c.PutVsock(ctx, Vsock{GuestCID: guestCID, UDSPath: spec.AgentSocket}) },
		func() error { return c.Action(ctx, ActionInstanceStart) },
	)
	for _, call := range calls {
		if err := call(); err != nil {
			return err
		}
	}
	return nil
}

// abort kills a Firecracker that Start spawned and waits, boundedly, for
// its reaper to see it go.
func abort(pid int, exited <-chan struct{}) {
	select {
	case <-exited:
		return
	default:
	}
	syscall.Kill(pid, syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(reapTimeout):
	}
}
