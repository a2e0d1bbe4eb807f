// Package guestinit is banger-init, the first program a banger guest runs.
// It lives in the initramfs as /init (the guest agent binary doubles as it):
// it mounts /dev, /proc and /sys, loads the virtio drivers that Debian's
// cloud kernel builds as modules, mounts the root disk named by root= on the
// kernel command line and hands over to the root's init, as switch_root does.
package guestinit

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// rootWait bounds the wait for the root device after the drivers load.
const rootWait = 30 * time.Second

// Run boots the guest. It returns only when it is not PID 1; as PID 1 it
// either becomes the root's init or, on failure, reports the error on the
// console for ever, because PID 1 exiting would panic the kernel.
func Run() error {
	if os.Getpid() != 1 {
		return errors.New("banger-init must run as PID 1, the kernel's init; refusing to mount over a running system")
	}
	log := newLogger()
	err := boot(log)
	emergency(log, err)
	return err
}

// boot runs the steps in order; it returns only on failure.
func boot(log *logger) error {
	start := time.Now()
	if err := mountKernelFS(); err != nil {
		return fmt.Errorf("mounting kernel filesystems: %w", err)
	}
	log.openKmsg()
	if err := loadModulesFrom(log, ConfPath); err != nil {
		return fmt.Errorf("loading kernel modules: %w", err)
	}
	p, err := readCmdline("/proc/cmdline")
	if err != nil {
		return fmt.Errorf("reading the kernel command line: %w", err)
	}
	if err := waitForDevice(p.Root, rootWait, 10*time.Millisecond); err != nil {
		return fmt.Errorf("waiting for the root device: %w", err)
	}
	if err := mountRoot(p); err != nil {
		return fmt.Errorf("mounting the root filesystem: %w", err)
	}
	log.Infof("mounted %s on %s after %v", p, newRoot, time.Since(start).Round(time.Millisecond))
	if err := moveKernelFS(log); err != nil {
		return fmt.Errorf("moving kernel filesystems to the root: %w", err)
	}
	if err := freeInitramfs(); err != nil {
		log.Errorf("freeing the initramfs: %v (continuing)", err)
	}
	if err := switchRoot(); err != nil {
		return fmt.Errorf("switching root: %w", err)
	}
	return execInit(log, p)
}

// emergency never returns: it repeats err on the console every few seconds.
func emergency(log *logger, err error) {
	for {
		log.Errorf("boot failed, the VM cannot start: %v", err)
		time.Sleep(5 * time.Second)
	}
}

func readCmdline(path string) (bootParams, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return bootParams{}, err
	}
	return parseCmdline(string(b))
}
