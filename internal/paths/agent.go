package paths

import (
	"os"
	"os/exec"
	"path/filepath"

	"banger/internal/errdefs"
	"banger/internal/guestabi"
)

// AgentBinaryEnv overrides where the host finds the guest agent binary.
const AgentBinaryEnv = "BANGER_AGENT_BIN"

// AgentBinary finds the guest agent binary that banger copies into
// guests: $BANGER_AGENT_BIN, then PREFIX/lib/banger/ next to an installed
// banger, then beside the running executable (a build tree's bin/), then
// PATH. It is the host's half of guestabi.AgentName, kept here so that
// the guest binary links none of it.
func AgentBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		exe = ""
	}
	return findAgentBinary(os.Getenv, exe, exec.LookPath)
}

func findAgentBinary(getenv func(string) string, exe string, lookPath func(string) (string, error)) (string, error) {
	if p := getenv(AgentBinaryEnv); p != "" {
		return p, nil
	}
	if exe != "" {
		dir := filepath.Dir(exe)
		for _, p := range []string{filepath.Join(dir, "..", "lib", "banger", guestabi.AgentName), filepath.Join(dir, guestabi.AgentName)} {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return filepath.Clean(p), nil
			}
		}
	}
	if p, err := lookPath(guestabi.AgentName); err == nil {
		return p, nil
	}
	return "", errdefs.FailedPrecondition("cannot find %s (expected in PREFIX/lib/banger/ next to banger): reinstall with `make install`, or set %s", guestabi.AgentName, AgentBinaryEnv)
}
