// Command markerinit is the /sbin/init of the qemu driver's end-to-end
// test: it prints a marker and the virtio-serial ports it sees on the
// console, then prints a heartbeat each second until QEMU is stopped.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	console, err := os.OpenFile("/dev/console", os.O_WRONLY, 0)
	if err != nil {
		console = os.Stdout
	}
	fmt.Fprintf(console, "markerinit: virtio-ports=%s\n", ports())
	fmt.Fprintln(console, "BANGER-QEMU-DRIVER-OK")
	console.Sync()
	// A heartbeat: a guest restored from saved state goes on counting
	// where it was, without booting again.
	for i := 1; ; i++ { // PID 1 must not exit
		time.Sleep(time.Second)
		fmt.Fprintf(console, "markerinit: alive %d\n", i)
	}
}

// ports lists the names of the guest's virtio-serial ports.
func ports() string {
	files, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			names = append(names, strings.TrimSpace(string(b)))
		}
	}
	return strings.Join(names, ",")
}
