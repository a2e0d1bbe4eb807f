package agent

import (
	"os"
	"os/exec"
	"path/filepath"

	"banger/internal/errdefs"
)

// BinaryEnv overrides where the host finds the agent binary.
const BinaryEnv = "BANGER_AGENT_BIN"

// BinaryName is the agent's file name.
const BinaryName = "banger-vsock-agent"

// HostBinaryPath finds the agent binary that banger copies into guests:
// $BANGER_AGENT_BIN, then PREFIX/lib/banger/ next to an installed banger,
// then beside the running executable (a build tree's bin/), then PATH.
func HostBinaryPath() (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		for _, p := range []string{filepath.Join(dir, "..", "lib", "banger", BinaryName), filepath.Join(dir, BinaryName)} {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return filepath.Clean(p), nil
			}
		}
	}
	if p, err := exec.LookPath(BinaryName); err == nil {
		return p, nil
	}
	return "", errdefs.FailedPrecondition("cannot find %s (expected in PREFIX/lib/banger/ next to banger): reinstall with `make install`, or set %s", BinaryName, BinaryEnv)
}
