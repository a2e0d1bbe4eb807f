package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"
)

// InitBanner is what the minimal init prints once the system is up.
const InitBanner = "banger-agent: minimal init running"

// mount is one filesystem the minimal init sets up.
type mount struct{ source, target, fstype string }

var initMounts = []mount{
	{"proc", "/proc", "proc"},
	{"sysfs", "/sys", "sysfs"},
	{"devtmpfs", "/dev", "devtmpfs"},
	{"devpts", "/dev/pts", "devpts"},
	{"tmpfs", "/run", "tmpfs"},
	{"tmpfs", "/tmp", "tmpfs"},
}

// RunInit is the agent as PID 1, for images that have no init of their
// own (OCI images, mostly): it mounts the kernel filesystems, serves the
// host as Run does, reaps orphans and powers off on SIGTERM, SIGINT or
// SIGPWR. It returns only on error.
func RunInit(console io.Writer) error {
	if os.Getpid() != 1 {
		return errors.New("the minimal init runs only as PID 1")
	}
	for _, m := range initMounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			fmt.Fprintf(console, "banger-agent: creating %s: %v\n", m.target, err)
			continue
		}
		if err := unix.Mount(m.source, m.target, m.fstype, 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			fmt.Fprintf(console, "banger-agent: mounting %s: %v\n", m.target, err)
		}
	}
	fmt.Fprintln(console, InitBanner)
	go serveForever(console)
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGPWR)
	for sig := range sigs {
		if sig != unix.SIGCHLD {
			unix.Sync()
			return unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
		}
		reap()
	}
	return nil
}

// reap collects every exited child, so orphans do not pile up as zombies.
func reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// serveForever is the agent's server under the minimal init, started again
// whenever it finds no channel, since there is no service manager to do so.
// Powering off is a direct system call here: nothing else would do it, and
// running a command would race reap for its exit status.
func serveForever(console io.Writer) {
	opts := DefaultOptions()
	opts.Logger = newLogger(console, false)
	opts.Poweroff = func() error {
		unix.Sync()
		return unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	}
	srv := NewServer(opts)
	for {
		if err := srv.Serve(context.Background()); err != nil {
			opts.Logger.Error("serving the host; retrying", "err", err)
		}
		time.Sleep(time.Second)
	}
}
