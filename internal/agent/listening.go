package agent

import (
	"fmt"
	"net/netip"

	"banger/internal/procnet"
)

// listening says whether a TCP socket listens where a connection to addr
// (host:port) would reach it: on addr's port, bound to addr's address or
// to every address. It reads the kernel's socket tables under procDir
// instead of connecting: sshd starts a whole process for each connection
// it accepts, and logs it.
func listening(procDir, addr string) (bool, error) {
	want, err := netip.ParseAddrPort(addr)
	if err != nil {
		return false, fmt.Errorf("sshd's address %q: %w", addr, err)
	}
	var found bool
	err = procnet.ScanTables(procDir, func(s procnet.Socket) bool {
		found = reaches(s, want)
		return !found
	})
	return found, err
}

// reaches says whether s listens where a connection to want arrives.
func reaches(s procnet.Socket, want netip.AddrPort) bool {
	if s.State != procnet.StateListen || s.Local.Port() != want.Port() {
		return false
	}
	ip := s.Local.Addr()
	return ip.IsUnspecified() || ip == want.Addr().Unmap()
}
