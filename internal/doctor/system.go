package doctor

import (
	"banger/internal/progress"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
)

const (
	gib           = 1 << 30
	diskFailBelow = 2 * gib
	diskWarnBelow = 10 * gib
)

// checkPrivileges reports how bangerd will get root for the network: by
// being root, or through sudo, which it uses only for a bangerd that no
// user but root can replace (a sudoers rule for any other would hand out
// root).
func checkPrivileges(ctx context.Context, h Host, daemonBin func() (string, error)) Result {
	const name = "privileges"
	if h.Geteuid() == 0 {
		return pass(name, "running as root")
	}
	bin, err := daemonBin()
	if err != nil {
		return warn(name, "not root, and no bangerd found to run through sudo for network setup", "install banger with `sudo make install`, or run banger as root")
	}
	if err := h.SudoSafe(bin); err != nil {
		return fail(name, "not root, and network setup cannot go through sudo: "+err.Error(),
			"install bangerd root-owned with `sudo make install` and use that one, or run banger as root")
	}
	if h.PasswordlessSudo(ctx) {
		return pass(name, "passwordless sudo for "+bin)
	}
	return warn(name, "not root and sudo asks for a password; network setup needs root",
		fmt.Sprintf("run banger as root, or allow passwordless sudo for bangerd with a sudoers line like `%s ALL=(root) NOPASSWD: %s net *`", userName(), bin))
}

// userName names this user for a sudoers line.
func userName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprintf("#%d", os.Getuid())
}

// tunDevice is where taps are made; without it VMs get no network.
const tunDevice = "/dev/net/tun"

func checkTun(h Host) Result {
	const name = "tun"
	st, err := h.Stat(tunDevice)
	if err != nil {
		return fail(name, tunDevice+" is missing, so VMs cannot get a network interface",
			"load the tun module: sudo modprobe tun")
	}
	if st.Mode()&fs.ModeCharDevice == 0 {
		return fail(name, tunDevice+" is not a character device", "recreate it: sudo modprobe tun, or mknod "+tunDevice+" c 10 200")
	}
	return pass(name, tunDevice+" present")
}

// checkDisk reports the free space where images and disks will live.
func checkDisk(h Host, dir string) Result {
	const name = "disk"
	if dir == "" {
		return warn(name, "state directory unknown", "set XDG_STATE_HOME or HOME")
	}
	free, err := h.FreeBytes(existingAncestor(h, dir))
	if err != nil {
		return warn(name, "cannot read free space: "+err.Error(), "check that "+dir+" is on a mounted filesystem")
	}
	summary := fmt.Sprintf("%s free in %s", progress.Bytes(int64(free)), dir)
	switch {
	case free < diskFailBelow:
		return fail(name, summary+"; images and VM disks need at least 2 GiB",
			"free up space on the filesystem holding "+dir)
	case free < diskWarnBelow:
		return warn(name, summary+"; an image and a few VMs need about 10 GiB",
			"free up space on the filesystem holding "+dir)
	}
	return pass(name, summary)
}

// existingAncestor returns dir, or its nearest ancestor that exists.
func existingAncestor(h Host, dir string) string {
	dir = filepath.Clean(dir)
	for {
		if _, err := h.Stat(dir); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return dir
		}
		dir = parent
	}
}
