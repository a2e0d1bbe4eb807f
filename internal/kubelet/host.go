package kubelet

import (
	"fmt"
	"net"
	"strings"

	"golang.org/x/sys/unix"

	"banger/internal/config"
)

// DetectHost measures this machine: its CPUs and memory as banger's VM
// defaults see them, and the free space where bangerd keeps VM disks.
func DetectHost(stateDir string) (Host, error) {
	h := config.DetectHost()
	var st unix.Statfs_t
	if err := unix.Statfs(stateDir, &st); err != nil {
		return Host{}, fmt.Errorf("measuring the free space in %s: %w", stateDir, err)
	}
	return Host{CPUs: h.CPUs, MemoryBytes: h.MemoryBytes, DiskBytes: int64(st.Bavail) * st.Bsize}, nil
}

// DetectIP is the address of this host that other machines most likely
// reach: the first global unicast IPv4 address of an interface that is
// up and is not a bridge or tap of VMs or containers, else the first
// such IPv6 one, else 127.0.0.1 (a cluster on this host).
func DetectIP() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "127.0.0.1"
	}
	var v6 string
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || virtualInterface(iface.Name) {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			switch {
			case !ok || !n.IP.IsGlobalUnicast():
			case n.IP.To4() != nil:
				return n.IP.String()
			case v6 == "":
				v6 = n.IP.String()
			}
		}
	}
	if v6 != "" {
		return v6
	}
	return "127.0.0.1"
}

// virtualInterface tells the host side of VM and container networks
// (banger's bridge and taps, Docker's, libvirt's, veth pairs) by name.
func virtualInterface(name string) bool {
	for _, prefix := range []string{"banger", "tap", "docker", "br-", "virbr", "veth", "cni", "flannel", "cali"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}
