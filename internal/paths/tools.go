package paths

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"banger/internal/errdefs"
)

// sbinDirs are searched after PATH: a user's PATH often lacks them, and
// Debian puts programs such as mkfs.ext4 there.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}

// LookTool finds the host program name on PATH, then in the sbin
// directories a user's PATH often lacks. The error is a failed
// precondition naming where it looked; callers add how to install it.
func LookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range sbinDirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errdefs.FailedPrecondition("%s not found on PATH or in %s", name, strings.Join(sbinDirs, ", "))
}
