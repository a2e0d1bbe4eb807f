package network

import (
	"os"
	"strconv"
)

// helperCaller returns the user the net helper acts for: the user who ran
// sudo (SUDO_UID, which sudo sets itself) when this process is root, else
// this process's own user. The sudoers rule banger suggests carries no
// SETENV, so a user cannot choose SUDO_UID.
func helperCaller() int {
	if os.Geteuid() == 0 {
		if uid, err := strconv.ParseUint(os.Getenv("SUDO_UID"), 10, 31); err == nil {
			return int(uid)
		}
	}
	return os.Getuid()
}

// myUID is the caller for the exported functions, which act in this
// process for its own user.
func myUID() int { return os.Getuid() }
