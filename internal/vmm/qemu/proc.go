package qemu

import (
	"path/filepath"
	"strings"
	"time"

	"banger/internal/vmm"
)

// pollInterval is how often waits look at a socket again.
const pollInterval = vmm.PollInterval

// startPoll is how often a starting QEMU is asked whether its QMP socket
// answers or its saved state is in: a restore takes a few hundred
// milliseconds, so the usual interval would be a good share of it.
const startPoll = 5 * time.Millisecond

// pidFile is how the driver finds spec's QEMU process.
func pidFile(spec vmm.Spec) vmm.PIDFile {
	return vmm.PIDFile{Path: pidPath(spec), Owns: func(cmdline []string) bool {
		return ownsProcess(cmdline, spec.RunDir)
	}}
}

// findProcess returns the live QEMU process that spec's pid file names,
// or ok false when there is none (see vmm.FindProcess).
func findProcess(spec vmm.Spec) (vmm.Process, bool, error) {
	return pidFile(spec).Find()
}

// ownsProcess reports whether cmdline is a QEMU started for runDir: its
// program's name contains "qemu" and it writes runDir's pid file. Checking
// both keeps a recycled pid from being signalled.
func ownsProcess(cmdline []string, runDir string) bool {
	if len(cmdline) == 0 || !strings.Contains(filepath.Base(cmdline[0]), "qemu") {
		return false
	}
	want := filepath.Join(runDir, pidFileName)
	for i := 1; i+1 < len(cmdline); i++ {
		if cmdline[i] == "-pidfile" && filepath.Clean(cmdline[i+1]) == want {
			return true
		}
	}
	return false
}

// accelOf returns the accelerator named by a QEMU command line's -accel.
func accelOf(cmdline []string) string {
	for i := 0; i+1 < len(cmdline); i++ {
		if cmdline[i] == "-accel" {
			name, _, _ := strings.Cut(cmdline[i+1], ",")
			return name
		}
	}
	return ""
}
