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

// Where a VM's files live. Disks and known_hosts sit in the state dir
// under the VM's name; sockets, the pid file and the console log in a run
// dir named by the VM's short id, so socket paths stay short.
func (m *Manager) vmDir(name string) string { return filepath.Join(m.dirs.State, "vms", name) }
func (m *Manager) vmRunDir(v store.VM) string {
	return filepath.Join(m.dirs.Runtime, "vm", v.VID)
}
func (m *Manager) knownHosts(name string) string { return filepath.Join(m.vmDir(name), "known_hosts") }
func workDisk(dir string) string                 { return filepath.Join(dir, "work.ext4") }

// pickVMM resolves the vmm config key to a driver name: auto means
// Firecracker when its binary is found, else QEMU.
func (m *Manager) pickVMM() (string, error) {
	switch m.config().VMM {
	case config.VMMQEMU:
		return "qemu", nil
	case config.VMMFirecracker:
		if _, err := m.firecrackerBin(); err != nil {
			return "", err
		}
		return "firecracker", nil
	}
	if _, err := m.firecrackerBin(); err == nil {
		return "firecracker", nil
	}
	return "qemu", nil
}

func (m *Manager) firecrackerBin() (string, error) {
	if m.config().FirecrackerBin != "" {
		if st, err := os.Stat(m.config().FirecrackerBin); err != nil || st.IsDir() {
			return "", errdefs.FailedPrecondition("firecracker_bin = %q in the config is not a file: fix the path or remove the key", m.config().FirecrackerBin)
		}
		return m.config().FirecrackerBin, nil
	}
	p, err := exec.LookPath("firecracker")
	if err != nil {
		return "", errdefs.FailedPrecondition("vmm = \"firecracker\" but no firecracker binary is on PATH: install it, set firecracker_bin, or set vmm = \"qemu\"")
	}
	return p, nil
}

// driver returns the driver a VM runs on.
func (m *Manager) driver(name string) (vmm.Driver, error) {
	if m.drivers != nil {
		if d, ok := m.drivers[name]; ok {
			return d, nil
		}
	}
	switch name {
	case "qemu":
		return &qemu.Driver{}, nil
	case "firecracker":
		bin, err := m.firecrackerBin()
		if err != nil {
			return nil, err
		}
		return &firecracker.Driver{Binary: bin}, nil
	}
	return nil, fmt.Errorf("unknown vmm %q", name)
}

// netConfig is the bridge and subnet from the config.
func (m *Manager) netConfig() (network.Config, error) { return NetConfig(m.config()) }

// NetConfig is the bridge and subnet cfg sets.
func NetConfig(cfg *config.Config) (network.Config, error) {
	p, err := netip.ParsePrefix(cfg.BridgeSubnet)
	if err != nil {
		return network.Config{}, errdefs.InvalidArgument("bridge_subnet %q: %v", cfg.BridgeSubnet, err)
	}
	c := network.Config{Bridge: cfg.BridgeName, Subnet: p.Masked()}
	return c, c.Validate()
}

// vmSpec is what the driver boots for v, whose disks are in place.
func (m *Manager) vmSpec(v store.VM, k store.Kernel, root vmdisk.Root) (vmm.Spec, error) {
	runDir := m.vmRunDir(v)
	kernelPath := k.Path
	if v.VMM == "firecracker" {
		if k.VmlinuxPath == "" {
			return vmm.Spec{}, errdefs.FailedPrecondition("kernel %s has no uncompressed vmlinux, which firecracker needs: pull a catalog kernel or set vmm = \"qemu\"", k.Name)
		}
		kernelPath = k.VmlinuxPath
	}
	disks := append(root.Disks(), vmm.Disk{ID: "work", Path: workDisk(m.vmDir(v.Name))})
	cmdline := []string{root.Cmdline(), vmdisk.WorkCmdline(root.WorkDevice()), "systemd.hostname=" + v.Name}
	if v.IP != "" {
		nc, err := m.netConfig()
		if err != nil {
			return vmm.Spec{}, err
		}
		ip, err := netip.ParseAddr(v.IP)
		if err != nil {
			return vmm.Spec{}, fmt.Errorf("VM %s has a bad address %q: %w", v.Name, v.IP, err)
		}
		cmdline = append(cmdline, network.KernelIPArg(ip, nc.Gateway(), nc.Subnet.Bits(), v.Name, m.guestResolvers(nc.Gateway())))
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
func (m *Manager) rootOf(v store.VM, im store.Image) vmdisk.Root {
	dir := m.vmDir(v.Name)
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

// hostResolvers are the host's DNS servers a guest can reach through NAT:
// those in /etc/resolv.conf, or systemd-resolved's upstream ones when the
// host points at its local stub. Loopback servers are no use to a guest.
func hostResolvers() []netip.Addr {
	var out []netip.Addr
	for _, f := range []string{"/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 2 || fields[0] != "nameserver" {
				continue
			}
			a, err := netip.ParseAddr(fields[1])
			if err != nil || !a.Is4() || a.IsLoopback() {
				continue
			}
			out = append(out, a)
			if len(out) == 2 {
				return out
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return out
}
