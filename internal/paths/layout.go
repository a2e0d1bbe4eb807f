package paths

import "path/filepath"

// The state layout: every file and directory bangerd keeps under its base
// directories is named here, and docs/internals.md lists them with what
// they hold. Disks and known_hosts live under the VM's name in the state
// dir; sockets, the pid file and the console log in a run dir named by
// the VM's short id, so socket paths stay short.

// File names inside a VM's, template's or snapshot's directories.
const (
	// AgentSocketName is the socket the host reaches a guest agent on.
	AgentSocketName = "agent.sock"
	// ConsoleLogName is a VM's console log, in its run dir.
	ConsoleLogName = "console.log"
	// MachineName records, in a run dir, the machine its VMM was started as.
	MachineName = "machine.json"
	// KnownHostsName holds a VM's ssh host keys, in its VM dir.
	KnownHostsName = "known_hosts"
	// WorkDiskName is a VM's work disk (mounted at /root in the guest).
	WorkDiskName = "work.ext4"
	// RootfsName is an image's root filesystem, in its image dir.
	RootfsName = "rootfs.ext4"
	// TemplateMetaName marks a warm template complete; written last.
	TemplateMetaName = "template.json"
	// TemplateBuildName records, in a template build's run dir, what the
	// build holds on the host.
	TemplateBuildName = "build.json"
	// SnapshotMetaName describes a snapshot; written last.
	SnapshotMetaName = "snapshot.json"
	// StateName is saved memory and device state, in a template or snapshot.
	StateName = "state"
	// SuspendStateName is a suspended VM's saved memory and device state,
	// in its VM dir (Firecracker writes its device state beside it, with
	// ".vmstate" added).
	SuspendStateName = "suspend.state"
	// SuspendMetaName describes a suspended VM's saved state, in its VM
	// dir; written last, so a state without it is incomplete.
	SuspendMetaName = "suspend.json"
)

// VMDir holds VM name's disks and known_hosts.
func (d Dirs) VMDir(name string) string { return filepath.Join(d.State, "vms", name) }

// VMRunDir holds the sockets, pid file and console log of the VM with
// short id vid.
func (d Dirs) VMRunDir(vid string) string { return filepath.Join(d.Runtime, "vm", vid) }

// KnownHosts is VM name's known_hosts file.
func (d Dirs) KnownHosts(name string) string {
	return filepath.Join(d.VMDir(name), KnownHostsName)
}

// SuspendState is suspended VM name's saved memory and device state.
func (d Dirs) SuspendState(name string) string {
	return filepath.Join(d.VMDir(name), SuspendStateName)
}

// SuspendMeta describes suspended VM name's saved state.
func (d Dirs) SuspendMeta(name string) string {
	return filepath.Join(d.VMDir(name), SuspendMetaName)
}

// ImageDir holds image name's root filesystem.
func (d Dirs) ImageDir(name string) string { return filepath.Join(d.State, "images", name) }

// KernelDir holds kernel name's files.
func (d Dirs) KernelDir(name string) string { return filepath.Join(d.State, "kernels", name) }

// TemplatesDir holds the warm templates, one directory per key.
func (d Dirs) TemplatesDir() string { return filepath.Join(d.State, "templates") }

// TemplateRunBase holds the run dirs of template builds in progress.
func (d Dirs) TemplateRunBase() string { return filepath.Join(d.Runtime, "template") }

// SnapshotsDir holds the snapshots, one directory per name.
func (d Dirs) SnapshotsDir() string { return filepath.Join(d.State, "snapshots") }

// SnapshotDir holds snapshot name.
func (d Dirs) SnapshotDir(name string) string { return filepath.Join(d.SnapshotsDir(), name) }

// ScratchDir holds private work dirs, on the same filesystem as the final
// places so results can be renamed into them.
func (d Dirs) ScratchDir() string { return filepath.Join(d.State, "tmp") }

// BuildCache holds built catalog images, by recipe hash.
func (d Dirs) BuildCache() string { return filepath.Join(d.Cache, "builds") }

// DebCache holds downloaded Debian packages.
func (d Dirs) DebCache() string { return filepath.Join(d.Cache, "debs") }

// DownloadCache holds kernel downloads and unpacked bundles.
func (d Dirs) DownloadCache() string { return filepath.Join(d.Cache, "downloads") }

// OCICache holds OCI layers, by digest.
func (d Dirs) OCICache() string { return filepath.Join(d.Cache, "oci") }

// SSHKey is banger's own ssh key, used unless ssh_key_path names another.
func (d Dirs) SSHKey() string { return filepath.Join(d.Config, "ssh", "id_ed25519") }

// KubeletLogs keeps the output of the pods whose command ended, whose
// VMs banger kubelet deleted: one UID.log each.
func (d Dirs) KubeletLogs() string { return filepath.Join(d.State, "kubelet", "logs") }
