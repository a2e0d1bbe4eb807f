package firecracker

import (
	"path/filepath"
	"strings"

	"banger/internal/vmm"
	"banger/internal/vmm/consolelog"
)

// Files Firecracker keeps in a VM's RunDir.
const (
	apiSocketName  = "firecracker.sock"
	pidFileName    = "firecracker.pid"
	consoleLogName = consolelog.Name
	logName        = "firecracker.log"
)

func apiSocketPath(spec vmm.Spec) string { return filepath.Join(spec.RunDir, apiSocketName) }
func pidPath(spec vmm.Spec) string       { return filepath.Join(spec.RunDir, pidFileName) }
func consolePath(spec vmm.Spec) string   { return filepath.Join(spec.RunDir, consoleLogName) }
func logPath(spec vmm.Spec) string       { return filepath.Join(spec.RunDir, logName) }

// pidFile is how the driver finds spec's Firecracker process.
func pidFile(spec vmm.Spec) vmm.PIDFile {
	return vmm.PIDFile{Path: pidPath(spec), Owns: func(cmdline []string) bool {
		return ownsProcess(cmdline, spec.RunDir)
	}}
}

// findProcess returns the live Firecracker process that spec's pid file names,
// or ok false when there is none (see vmm.FindProcess).
func findProcess(spec vmm.Spec) (vmm.Process, bool, error) {
	return pidFile(spec).Find()
}

// ownsProcess reports whether cmdline is a Firecracker started for runDir:
// its program's name contains "firecracker" and it serves runDir's API
// socket. Checking both keeps a recycled pid from being signalled.
func ownsProcess(cmdline []string, runDir string) bool {
	if len(cmdline) == 0 || !strings.Contains(filepath.Base(cmdline[0]), "firecracker") {
		return false
	}
	want := filepath.Join(runDir, apiSocketName)
	for i := 1; i+1 < len(cmdline); i++ {
		if cmdline[i] == "--api-sock" && filepath.Clean(cmdline[i+1]) == want {
			return true
		}
	}
	return false
}
