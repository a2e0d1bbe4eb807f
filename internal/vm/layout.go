package vm

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"banger/internal/agent/agentclient"
	"banger/internal/config"
	"banger/internal/errdefs"
	"banger/internal/network"
	"banger/internal/paths"
	"banger/internal/store"
	"banger/internal/vmdisk"
	"banger/internal/vmm"
	"banger/internal/vmm/firecracker"
	"banger/internal/vmm/qemu"
)

// agentPort is the vsock port the guest agent listens on.
const agentPort = 52

// layout is where VMs' files live and what runs them: the state layout,
// the VMM drivers and the specs they boot.
type layout struct {
	dirs paths.Dirs
	cfg  func() *config.Config // the config in force, read at each use
	// drivers replaces the VMM drivers by name, for tests.
	drivers map[string]vmm.Driver
}

// config is the config in force.
func (l *layout) config() *config.Config { return l.cfg() }

// Where a VM's files live. Disks and known_hosts sit in the state dir
// under the VM's name; sockets, the pid file and the console log in a run
// dir named by the VM's short id, so socket paths stay short.
func (l *layout) vmDir(name string) string      { return l.dirs.VMDir(name) }
func (l *layout) vmRunDir(v store.VM) string    { return l.dirs.VMRunDir(v.VID) }
func (l *layout) knownHosts(name string) string { return l.dirs.KnownHosts(name) }
func workDisk(dir string) string                { return filepath.Join(dir, paths.WorkDiskName) }

// runSpec is the part of a VM's spec that finding, stopping and killing
// its VMM needs; it does not need the image or kernel to still exist.
func (l *layout) runSpec(v store.VM) vmm.Spec {
	dir := l.vmRunDir(v)
	return vmm.Spec{Name: v.Name, RunDir: dir, AgentSocket: filepath.Join(dir, paths.AgentSocketName)}
}

// sshKeyPath is ssh_key_path, or banger's own key under the config dir.
func (l *layout) sshKeyPath() string {
	if p := l.config().SSHKeyPath; p != "" {
		if rest, ok := strings.CutPrefix(p, "~/"); ok {
			if home, err := os.UserHomeDir(); err == nil {
				return filepath.Join(home, rest)
			}
		}
		return p
	}
	return l.dirs.SSHKey()
}

// consoleLogLimit is the size at which console logs rotate, from the
// config as it is now.
func (l *layout) consoleLogLimit() int64 { return int64(l.config().ConsoleLogLimit()) }

// pickVMM resolves the vmm config key to a driver name: auto means
// Firecracker when its binary is found, else QEMU.
func (l *layout) pickVMM() (string, error) {
	switch l.config().VMM {
	case config.VMMQEMU:
		return "qemu", nil
	case config.VMMFirecracker:
		if _, err := l.firecrackerBin(); err != nil {
			return "", err
		}
		return "firecracker", nil
	}
	if _, err := l.firecrackerBin(); err == nil {
		return "firecracker", nil
	}
	return "qemu", nil
}

func (l *layout) firecrackerBin() (string, error) {
	if l.config().FirecrackerBin != "" {
		if st, err := os.Stat(l.config().FirecrackerBin); err != nil || st.IsDir() {
			return "", errdefs.FailedPrecondition("firecracker_bin = %q in the config is not a file: fix the path or remove the key", l.config().FirecrackerBin)
		}
		return l.config().FirecrackerBin, nil
	}
	p, err := exec.LookPath("firecracker")
	if err != nil {
		return "", errdefs.FailedPrecondition("vmm = \"firecracker\" but no firecracker binary is on PATH: install it, set firecracker_bin, or set vmm = \"qemu\"")
	}
	return p, nil
}

// driver returns the driver a VM runs on.
func (l *layout) driver(name string) (vmm.Driver, error) {
	if l.drivers != nil {
		if d, ok := l.drivers[name]; ok {
			return d, nil
		}
	}
	switch name {
	case "qemu":
		return &qemu.Driver{}, nil
	case "firecracker":
		bin, err := l.firecrackerBin()
		if err != nil {
			return nil, err
		}
		return &firecracker.Driver{Binary: bin}, nil
	}
	return nil, fmt.Errorf("unknown vmm %q", name)
}

// NetConfig is the bridge and subnet cfg sets.
func NetConfig(cfg *config.Config) (network.Config, error) {
	p, err := netip.ParsePrefix(cfg.BridgeSubnet)
	if err != nil {
		return network.Config{}, errdefs.InvalidArgument("bridge_subnet %q: %v", cfg.BridgeSubnet, err)
	}
	c := network.Config{Bridge: cfg.BridgeName, Subnet: p.Masked()}
	return c, c.Validate()
}

// vmSpec is what the driver boots for v, whose disks are in place; ipArg
// is the kernel's ip= argument when v has an address (see
// netAttach.kernelIPArg).
func (l *layout) vmSpec(v store.VM, k store.Kernel, root vmdisk.Root, ipArg string) (vmm.Spec, error) {
	runDir := l.vmRunDir(v)
	kernelPath := k.Path
	if v.VMM == "firecracker" {
		if k.VmlinuxPath == "" {
			return vmm.Spec{}, errdefs.FailedPrecondition("kernel %s has no uncompressed vmlinux, which firecracker needs: pull a catalog kernel or set vmm = \"qemu\"", k.Name)
		}
		kernelPath = k.VmlinuxPath
	}
	disks := append(root.Disks(), vmm.Disk{ID: "work", Path: workDisk(l.vmDir(v.Name))})
	cmdline := []string{root.Cmdline(), vmdisk.WorkCmdline(root.WorkDevice()), "systemd.hostname=" + v.Name}
	if ipArg != "" {
		cmdline = append(cmdline, ipArg)
	}
	spec := vmm.Spec{
		Name:        v.Name,
		VCPU:        v.VCPU,
		MemoryMiB:   v.MemoryMiB,
		Kernel:      kernelPath,
		Initrd:      k.InitrdPath,
		Cmdline:     strings.Join(cmdline, " "),
		Disks:       disks,
		RunDir:      runDir,
		AgentSocket: filepath.Join(runDir, paths.AgentSocketName),
	}
	if v.Tap != "" {
		spec.NICs = []vmm.NIC{{ID: "net0", Tap: v.Tap, MAC: v.MAC}}
	}
	return spec, nil
}

// rootOf rebuilds a VM's root description from its record and files.
func (l *layout) rootOf(v store.VM, im store.Image) vmdisk.Root {
	dir := l.vmDir(v.Name)
	if v.RootMode == string(vmdisk.ModeClone) {
		return vmdisk.Root{Mode: vmdisk.ModeClone, Image: im.RootfsPath, Clone: filepath.Join(dir, "root.ext4")}
	}
	return vmdisk.Root{Mode: vmdisk.ModeOverlay, Image: im.RootfsPath, Upper: filepath.Join(dir, "upper.ext4")}
}

// agentEndpoint is where the host reaches the guest agent of spec.
func agentEndpoint(driver vmm.Driver, spec vmm.Spec) agentclient.Endpoint {
	if driver.Name() == "firecracker" {
		return agentclient.Endpoint{Kind: agentclient.KindHybridVsock, Path: spec.AgentSocket, Port: agentPort}
	}
	if q, ok := driver.(*qemu.Driver); ok && q.AgentOverVsock() {
		return agentclient.Endpoint{Kind: agentclient.KindVsock, CID: qemu.GuestCID(spec), Port: agentPort}
	}
	return agentclient.Endpoint{Kind: agentclient.KindSerial, Path: spec.AgentSocket}
}
