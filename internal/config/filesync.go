package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// guestHome is where the VM's work disk is mounted; "~" in a guest path
// means this directory.
const guestHome = "/root"

// DefaultFileMode is the mode a synced file gets when its entry sets none.
const DefaultFileMode fs.FileMode = 0o600

// GuestPath returns the entry's guest path as a clean absolute path under
// /root, with a leading ~ expanded. It is only meaningful for an entry that
// passed validation.
func (f FileSync) GuestPath() string {
	rest, _ := strings.CutPrefix(f.Guest, "~/")
	if rest == f.Guest {
		rest, _ = strings.CutPrefix(f.Guest, guestHome+"/")
	}
	return path.Clean(guestHome + "/" + rest)
}

// FileMode returns the permission mode the entry sets, and false when it
// sets none.
func (f FileSync) FileMode() (fs.FileMode, bool) {
	if f.Mode == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(f.Mode, 8, 32)
	if err != nil || n > 0o7777 {
		return 0, false
	}
	mode := fs.FileMode(n & 0o777)
	if n&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if n&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if n&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode, true
}

// FileModeFor returns the mode of the i-th file_sync entry, and false when
// the entry sets none (callers then pick DefaultFileMode for files). It
// panics if i is out of range, as indexing would.
func (c *Config) FileModeFor(i int) (fs.FileMode, bool) {
	return c.FileSync[i].FileMode()
}

// checkHostPath accepts an absolute path or one starting with ~/.
func checkHostPath(s string) error {
	switch {
	case s == "":
		return errors.New(`the host path is empty; name a file or directory, like "~/.aws"`)
	case strings.IndexByte(s, 0) >= 0:
		return errors.New("the host path contains a NUL byte; remove it")
	case s == "~" || strings.HasPrefix(s, "~/") || strings.HasPrefix(s, "/"):
		return nil
	}
	return fmt.Errorf("host path %q is relative; start it with ~/ or /, like \"~/%s\"", s, s)
}

// checkGuestPath accepts a path under the guest's home, written as ~/... or
// /root/..., that stays under it once cleaned.
func checkGuestPath(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New("the guest path contains a NUL byte; remove it")
	}
	if s == "~" || s == guestHome {
		return fmt.Errorf("guest path %q names the home directory itself; name a file or directory under it, like \"~/.aws\"", s)
	}
	if !strings.HasPrefix(s, "~/") && !strings.HasPrefix(s, guestHome+"/") {
		return fmt.Errorf("guest path %q is outside the VM's work disk; start it with ~/ or /root/, like \"~/.aws\"", s)
	}
	switch p := (FileSync{Guest: s}).GuestPath(); {
	case p == guestHome:
		return fmt.Errorf("guest path %q names the home directory itself; name a file or directory under it, like \"~/.aws\"", s)
	case !strings.HasPrefix(p, guestHome+"/"):
		return fmt.Errorf("guest path %q climbs out of /root with \"..\"; name a path under ~/", s)
	}
	return nil
}

// checkMode accepts 3 or 4 octal digits, such as "644" or "0755".
func checkMode(s string) error {
	ok := len(s) == 3 || len(s) == 4
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] >= '0' && s[i] <= '7'
	}
	if !ok {
		return fmt.Errorf("mode %q is not a permission mode; use 3 or 4 octal digits, like \"0644\" or \"755\"", s)
	}
	return nil
}
