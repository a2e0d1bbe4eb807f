package paths

import (
	"os"
	"os/exec"
	"path/filepath"

	"banger/internal/errdefs"
)

// KubeletBinaryEnv overrides where banger finds banger-kubelet.
const KubeletBinaryEnv = "BANGER_KUBELET_BIN"

// KubeletName is the kubelet's binary, installed next to the guest agent.
const KubeletName = "banger-kubelet"

// KubeletBinary finds the binary `banger kubelet` runs, the way
// AgentBinary finds the agent: $BANGER_KUBELET_BIN, then PREFIX/lib/banger/
// next to an installed banger, then beside the running executable, then
// PATH.
func KubeletBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		exe = ""
	}
	if p := os.Getenv(KubeletBinaryEnv); p != "" {
		return p, nil
	}
	if exe != "" {
		dir := filepath.Dir(exe)
		for _, p := range []string{filepath.Join(dir, "..", "lib", "banger", KubeletName), filepath.Join(dir, KubeletName)} {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return filepath.Clean(p), nil
			}
		}
	}
	if p, err := exec.LookPath(KubeletName); err == nil {
		return p, nil
	}
	return "", errdefs.FailedPrecondition("cannot find %s (expected in PREFIX/lib/banger/ next to banger): reinstall with `make install`, or set %s", KubeletName, KubeletBinaryEnv)
}
