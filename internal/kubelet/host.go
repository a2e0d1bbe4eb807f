package kubelet

import (
	"fmt"
	"net"

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
// up, else the first IPv6 one, else 127.0.0.1 (a cluster on this host).
func DetectIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "127.0.0.1"
	}
	var v6 string
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || !n.IP.IsGlobalUnicast() {
			continue
		}
		if n.IP.To4() != nil {
			return n.IP.String()
		}
		if v6 == "" {
			v6 = n.IP.String()
		}
	}
	if v6 != "" {
		return v6
	}
	return "127.0.0.1"
}
