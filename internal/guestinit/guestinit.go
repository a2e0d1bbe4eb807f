// Package guestinit is banger-init, the first program a banger guest runs.
// It lives in the initramfs as /init (the guest agent binary doubles as it):
// it mounts /dev, /proc and /sys, loads the virtio drivers that Debian's
// cloud kernel builds as modules, mounts the root disk named by root= on the
// kernel command line and hands over to the root's init, as switch_root does.
//
// Two parameters of banger's own shape the root:
//
//   - banger.overlay=DEV: the root disk is a shared image, mounted read-only
//     at /run/banger/lower; DEV is the VM's upper disk (ext4), mounted at
//     /run/banger/upper-disk, whose upper/ and work/ directories (made on
//     first boot) take the changes through overlayfs. /run is a tmpfs that
//     banger-init hands to the new root, so both layers stay visible there.
//   - banger.work=DEV: the work disk (ext4), mounted at /root once the root
//     is assembled. On its first boot (no guestabi.WorkMarker file at its top) its
//     files, made on the host with the host user's uid, become root's and
//     it gets the image's /root files it lacks.
package guestinit

import (
	"errors"
	"fmt"
	"os"
	"time"

	"banger/internal/guestabi"
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
	if err := loadModulesFrom(log, guestabi.ModuleListPath); err != nil {
		return fmt.Errorf("loading kernel modules: %w", err)
	}
	p, err := readCmdline("/proc/cmdline")
	if err != nil {
		return fmt.Errorf("reading the kernel command line: %w", err)
	}
	if err := waitForDisks(p); err != nil {
		return err
	}
	if err := assembleRoot(p); err != nil {
		return fmt.Errorf("mounting the root filesystem: %w", err)
	}
	if p.Work != "" {
		if err := mountWork(log, p.Work); err != nil {
			return fmt.Errorf("mounting the work disk on /root: %w", err)
		}
	}
	log.Infof("mounted %s on %s after %v", p, newRoot, time.Since(start).Round(time.Millisecond))
	if err := moveKernelFS(log); err != nil {
		return fmt.Errorf("moving kernel filesystems to the root: %w", err)
	}
	if p.Overlay != "" {
		if err := moveRun(); err != nil {
			return fmt.Errorf("moving the overlay's layers to the root: %w", err)
		}
	}
	if err := freeInitramfs(); err != nil {
		log.Errorf("freeing the initramfs: %v (continuing)", err)
	}
	if err := switchRoot(); err != nil {
		return fmt.Errorf("switching root: %w", err)
	}
	return execInit(log, p)
}

// waitForDisks waits for each disk the command line names.
func waitForDisks(p bootParams) error {
	for _, d := range []struct{ what, dev string }{{"root", p.Root}, {"upper", p.Overlay}, {"work", p.Work}} {
		if d.dev == "" {
			continue
		}
		if err := waitForDevice(d.dev, rootWait, 10*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for the %s disk: %w", d.what, err)
		}
	}
	return nil
}

// assembleRoot mounts the root at newRoot: the root disk alone, or with
// banger.overlay= the root disk read-only under an overlay whose upper
// layer is on the upper disk.
func assembleRoot(p bootParams) error {
	if p.Overlay != "" {
		return mountOverlayRoot(p)
	}
	return mountRoot(p)
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
