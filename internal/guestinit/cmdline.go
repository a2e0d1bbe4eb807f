package guestinit

import (
	"errors"
	"fmt"
	"strings"

	"banger/internal/guestabi"
)

// bootParams is what banger-init takes from the kernel command line.
type bootParams struct {
	Root     string // root device node, e.g. /dev/vda
	FSType   string // rootfstype=, default ext4
	Flags    string // rootflags=, passed to mount(2) as data
	ReadOnly bool   // ro (the kernel's default) unless rw is given
	Init     string // init=, "" means try the kernel's defaults
	// Overlay is banger.overlay=: a disk whose ext4 filesystem holds the
	// upper layer of an overlayfs over the root, which is then mounted
	// read-only whatever ro or rw say.
	Overlay string
	// Work is banger.work=: the work disk, mounted at /root.
	Work string
}

// defaultInits are the programs the kernel itself tries when init= is unset.
var defaultInits = []string{"/sbin/init", "/etc/init", "/bin/init", "/bin/sh"}

// inits lists the programs to try, in order.
func (p bootParams) inits() []string {
	if p.Init != "" {
		return []string{p.Init}
	}
	return defaultInits
}

func (p bootParams) String() string {
	mode := "rw"
	if p.ReadOnly {
		mode = "ro"
	}
	s := fmt.Sprintf("root=%s rootfstype=%s %s", p.Root, p.FSType, mode)
	if p.Overlay != "" {
		s += " " + guestabi.OverlayParam + "=" + p.Overlay
	}
	if p.Work != "" {
		s += " " + guestabi.WorkParam + "=" + p.Work
	}
	return s
}

// parseCmdline reads the parameters banger-init needs from /proc/cmdline's
// contents. Like the kernel, the last of repeated parameters wins and
// everything after "--" belongs to init.
func parseCmdline(cmdline string) (bootParams, error) {
	p := bootParams{FSType: "ext4", ReadOnly: true}
	for _, arg := range splitCmdline(cmdline) {
		if arg == "--" {
			break
		}
		key, val, _ := strings.Cut(arg, "=")
		switch key {
		case "root":
			p.Root = val
		case "rootfstype":
			p.FSType = val
		case "rootflags":
			p.Flags = val
		case "init":
			p.Init = val
		case guestabi.OverlayParam:
			p.Overlay = val
		case guestabi.WorkParam:
			p.Work = val
		case "ro":
			p.ReadOnly = true
		case "rw":
			p.ReadOnly = false
		}
	}
	return p, p.check()
}

func (p bootParams) check() error {
	switch {
	case p.Root == "":
		return errors.New("no root= on the kernel command line: add root=/dev/vda (or the root disk's device)")
	case !strings.HasPrefix(p.Root, "/dev/"):
		return fmt.Errorf("root=%s is not supported: banger-init only takes a device path such as root=/dev/vda", p.Root)
	case p.FSType == "":
		return errors.New("rootfstype= is empty: drop it (ext4 is the default) or name a filesystem")
	case p.Init != "" && !strings.HasPrefix(p.Init, "/"):
		return fmt.Errorf("init=%s must be an absolute path", p.Init)
	}
	return p.checkDisks()
}

// checkDisks checks banger's own disk parameters: device paths, each disk
// used once.
func (p bootParams) checkDisks() error {
	for _, d := range []struct{ key, dev string }{{guestabi.OverlayParam, p.Overlay}, {guestabi.WorkParam, p.Work}} {
		if d.dev != "" && !strings.HasPrefix(d.dev, "/dev/") {
			return fmt.Errorf("%s=%s is not supported: give a device path such as %s=/dev/vdb", d.key, d.dev, d.key)
		}
	}
	switch {
	case p.Overlay != "" && p.Overlay == p.Root:
		return fmt.Errorf("%s=%s is also the root disk: the upper layer needs a disk of its own", guestabi.OverlayParam, p.Overlay)
	case p.Work != "" && (p.Work == p.Root || p.Work == p.Overlay):
		return fmt.Errorf("%s=%s is also the root or upper disk: the work disk needs a disk of its own", guestabi.WorkParam, p.Work)
	}
	return nil
}

// splitCmdline splits a kernel command line into parameters the way the
// kernel does: on white space, except inside double quotes, which are
// removed.
func splitCmdline(s string) []string {
	var args []string
	var cur strings.Builder
	inQuote, inArg := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			inArg = true
		case !inQuote && (r == ' ' || r == '\t' || r == '\n'):
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args
}
