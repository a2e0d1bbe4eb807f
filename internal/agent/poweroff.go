package agent

import (
	"fmt"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

// poweroff turns the guest off the way its init expects: through systemd
// when systemd runs the guest, else (the agent is the init, or there is no
// init to ask) by syncing and powering off directly.
func poweroff() error {
	if os.Getpid() != 1 && systemdRuns() {
		if out, err := exec.Command("systemctl", "poweroff", "--no-block").CombinedOutput(); err != nil {
			return fmt.Errorf("systemctl poweroff: %w: %s", err, out)
		}
		return nil
	}
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		return fmt.Errorf("powering off: %w", err)
	}
	return nil
}

// systemdRuns reports whether systemd is the guest's init, the way
// sd_booted(3) tells.
func systemdRuns() bool {
	fi, err := os.Lstat("/run/systemd/system")
	return err == nil && fi.IsDir()
}
