// Command rootinit is the /sbin/init of the boot test's root filesystem:
// it reports on the console that the switch to the root disk worked, with
// the modules banger-init loaded, and powers the VM off.
package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	console, err := os.OpenFile("/dev/console", os.O_WRONLY, 0)
	if err != nil {
		console = os.Stdout
	}
	fmt.Fprintf(console, "rootinit: pid=%d modules=%s\n", os.Getpid(), modules())
	fmt.Fprintln(console, "BANGER-ROOT-OK")
	console.Sync()
	unix.Sync()
	err = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	fmt.Fprintf(console, "rootinit: power off: %v\n", err)
	for { // PID 1 must not exit
		time.Sleep(time.Hour)
	}
}

// modules lists the loaded kernel modules, as /proc/modules names them.
func modules() string {
	b, err := os.ReadFile("/proc/modules")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return strings.Join(names, ",")
}
