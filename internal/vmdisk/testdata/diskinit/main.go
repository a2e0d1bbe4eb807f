// Command diskinit is the /sbin/init of the disk boot test's image: it
// writes a file to / and one to /root, prints the mounts the test checks,
// unmounts what it can so the disks are clean, and powers the VM off.
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
	say := func(format string, args ...any) { fmt.Fprintf(console, "diskinit: "+format+"\n", args...) }
	for path, data := range map[string]string{"/written-by-guest": "root write\n", "/root/written-by-guest": "work write\n"} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			say("FAIL writing %s: %v", path, err)
		}
	}
	mounts, _ := os.ReadFile("/proc/mounts")
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 3 {
			say("mount %s %s %s %s", f[0], f[1], f[2], strings.Split(f[3], ",")[0])
		}
	}
	unix.Sync()
	// As systemd does at shutdown: unmount, or remount read-only, so the
	// journals are flushed to the disks.
	for _, m := range []struct {
		dir     string
		unmount bool
	}{{"/root", true}, {"/", false}, {"/run/banger/upper-disk", false}} {
		var err error
		if m.unmount {
			err = unix.Unmount(m.dir, 0)
		} else {
			err = unix.Mount("", m.dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
		}
		say("unmounting %s: %v", m.dir, err)
	}
	unix.Sync()
	say("DONE")
	err = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	say("power off: %v", err)
	for { // PID 1 must not exit
		time.Sleep(time.Hour)
	}
}
