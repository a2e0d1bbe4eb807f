package image

import (
	"fmt"
	"io/fs"
	"strings"

	"banger/internal/guestabi"
)

// Where banger's own pieces live in the guest.
const (
	agentPath        = guestabi.AgentPath
	agentUnit        = "banger-agent.service"
	sshKeygenUnit    = "banger-ssh-keygen.service"
	misePath         = "/usr/local/bin/mise"
	hostnameHolder   = "banger" // replaced per VM
	sshHostKey       = "/etc/ssh/ssh_host_ed25519_key"
	networkFile      = "99-zz-banger-eth0.network"
	templateNetwork  = "10-banger-template-eth0.network"
	dpkgExcludesPath = "/etc/dpkg/dpkg.cfg.d/banger-trim"
)

// treeFile is one file, directory or symlink that the builder puts into
// the tree, owned by root.
type treeFile struct {
	Path string      // absolute path in the guest
	Mode fs.FileMode // permissions, plus fs.ModeDir or fs.ModeSymlink
	Data string      // content of a regular file, unless Src is set
	Src  string      // host file to copy instead of Data
	Link string      // target of a symlink
}

func file(path string, mode fs.FileMode, data string) treeFile {
	return treeFile{Path: path, Mode: mode, Data: data}
}

func dir(path string, mode fs.FileMode) treeFile {
	return treeFile{Path: path, Mode: fs.ModeDir | mode}
}

func symlink(path, target string) treeFile {
	return treeFile{Path: path, Mode: fs.ModeSymlink | 0o777, Link: target}
}

// configFiles are the files every image gets, apart from the agent, mise
// and kernel modules.
func configFiles() []treeFile {
	return []treeFile{
		file("/etc/hostname", 0o644, hostnameHolder+"\n"),
		file("/etc/hosts", 0o644, hostsFile(hostnameHolder)),
		file("/etc/fstab", 0o644, fstab()),
		file("/etc/systemd/network/"+networkFile, 0o644, ethNetwork()),
		file("/etc/systemd/network/"+templateNetwork, 0o644, templateEthNetwork()),
		// Masking the default link policy keeps kernel interface names
		// (eth0), so ip=...:eth0 means the same on every machine type.
		symlink("/etc/systemd/network/99-default.link", "/dev/null"),
		file("/etc/ssh/sshd_config.d/banger.conf", 0o644, sshdDropIn()),
		file("/etc/systemd/system/"+sshKeygenUnit, 0o644, sshKeygenService()),
		dir("/root/.ssh", 0o700),
	}
}

func hostsFile(hostname string) string {
	return fmt.Sprintf(`127.0.0.1	localhost
127.0.1.1	%s
::1	localhost ip6-localhost ip6-loopback
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
`, hostname)
}

// fstab lists no root: banger's initramfs mounts it, either the VM's clone
// of the image or an overlayfs over the shared image, and an entry for /
// would make systemd-remount-fs remount an overlay with ext4's options.
// /root is the work disk, which the initramfs mounts too.
func fstab() string {
	return `# Written by banger. The root and /root are mounted before systemd starts,
# by banger's initramfs (see the kernel command line's root= and banger.*
# parameters), so they are not listed here.
`
}

// ethNetwork is the fallback configuration of the VM's first NIC. Its
// name sorts after the 70-IFACE.network and 99-default.network files that
// systemd-network-generator writes from ip= on the kernel command line, so
// those win; this one only keeps eth0 quiet when no ip= was given.
func ethNetwork() string {
	return `# Written by banger. The address comes from ip= on the kernel command line,
# which systemd-network-generator turns into files that sort before this.
[Match]
Name=eth0

[Link]
RequiredForOnline=no

[Network]
DHCP=no
LinkLocalAddressing=no
IPv6AcceptRA=no
`
}

// templateEthNetwork keeps networkd off eth0 in a warm template and its
// clones, whose agent configures it: a clone then needs no networkd
// reload, seconds of a guest's CPU under emulation.
func templateEthNetwork() string {
	return `# Written by banger. A warm template boots with ` + guestabi.TemplateParam + ` on its kernel
# command line, and so do the clones restored from it: their agent gives eth0
# its address, route and DNS servers, and networkd leaves it alone.
[Match]
Name=eth0
KernelCommandLine=` + guestabi.TemplateParam + `

[Link]
Unmanaged=yes
`
}

func sshdDropIn() string {
	return `# Written by banger. Guests are single-user sandboxes reached with the
# host's key over the host's private bridge (see banger's README, Security).
PermitRootLogin yes
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UseDNS no
# Each VM makes its own host key at boot (` + sshKeygenUnit + `). One
# ed25519 key: RSA key generation takes seconds under emulation.
HostKey ` + sshHostKey + `
`
}

func sshKeygenService() string {
	return `[Unit]
Description=Generate this VM's SSH host key
DefaultDependencies=no
After=local-fs.target
Before=ssh.service
ConditionPathExists=!` + sshHostKey + `

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f ` + sshHostKey + `

[Install]
WantedBy=multi-user.target
RequiredBy=ssh.service
`
}

func agentService() string {
	return `[Unit]
Description=banger guest agent
DefaultDependencies=no
After=local-fs.target
Conflicts=shutdown.target
Before=shutdown.target
StartLimitIntervalSec=0

[Service]
ExecStart=` + agentPath + `
Restart=on-failure
RestartSec=1

[Install]
WantedBy=multi-user.target
`
}

// miseProfile puts mise's tools on PATH in login shells. Only an
// interactive bash gets mise's full activation (its prompt hook switches
// versions and env as you cd); every other shell, such as the
// non-interactive login shells that run each command of an E2B SDK
// (bash -l -c CMD), gets the shims, which pick the same versions without
// starting mise for every shell (seconds under emulation).
func miseProfile() string {
	return `# Written by banger: tools managed by mise on PATH in login shells.
if command -v mise >/dev/null 2>&1; then
	case "${BASH_VERSION:+bash}:$-" in
	bash:*i*) eval "$(mise activate bash)" ;;
	*) export PATH="$HOME/.local/share/mise/shims:$PATH" ;;
	esac
fi
`
}

// trimmed lists what the image leaves out: dpkg skips these paths
// (apart from the kept ones) and the trim step deletes what debootstrap's
// first stage unpacked before dpkg read the rule.
var (
	trimmed = []string{"/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*", "/usr/share/locale/*", "/usr/share/lintian/*"}
	kept    = []string{"/usr/share/doc/*/copyright", "/usr/share/locale/locale.alias"}
)

func dpkgExcludes() string {
	var b strings.Builder
	b.WriteString("# Written by banger: no documentation or translations in the image.\n")
	for _, p := range trimmed {
		fmt.Fprintf(&b, "path-exclude %s\n", p)
	}
	for _, p := range kept {
		fmt.Fprintf(&b, "path-include %s\n", p)
	}
	return b.String()
}

// trimScript runs in the chroot after everything is installed. It removes
// what a VM must make for itself (host keys, machine-id) and what only
// takes space (docs, apt lists and caches, logs of the build).
func trimScript() string {
	return `set -e
rm -f /etc/ssh/ssh_host_*
find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
find /usr/share/locale -mindepth 1 ! -type d ! -name locale.alias -delete
find /usr/share/doc /usr/share/locale -mindepth 1 -depth -type d -empty -delete
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/lintian/*
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
rm -f /var/cache/debconf/*-old /var/lib/dpkg/*-old /var/log/*.log /var/log/apt/*
rm -f /var/lib/dbus/machine-id
: > /etc/machine-id
`
}
