package agent

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// tcpListen is the state /proc/net/tcp gives a listening socket.
const tcpListen = "0A"

// listening says whether a TCP socket listens where a connection to addr
// (host:port) would reach it: on addr's port, bound to addr's address or
// to every address. It reads the kernel's socket tables under procDir
// (net/tcp and net/tcp6) instead of connecting: sshd starts a whole
// process for each connection it accepts, and logs it.
func listening(procDir, addr string) (bool, error) {
	want, err := netip.ParseAddrPort(addr)
	if err != nil {
		return false, fmt.Errorf("sshd's address %q: %w", addr, err)
	}
	var firstErr error
	for _, table := range []string{"tcp", "tcp6"} {
		raw, err := os.ReadFile(filepath.Join(procDir, "net", table))
		if err != nil {
			if firstErr == nil && !os.IsNotExist(err) {
				firstErr = err
			}
			continue
		}
		if listensIn(raw, want) {
			return true, nil
		}
	}
	return false, firstErr
}

// listensIn looks through one socket table's text for a listener that a
// connection to want reaches.
func listensIn(table []byte, want netip.AddrPort) bool {
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // the header
	for sc.Scan() {
		// sl local_address rem_address st ...
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[3] != tcpListen {
			continue
		}
		local, ok := parseProcAddr(f[1])
		if !ok || local.Port() != want.Port() {
			continue
		}
		ip := local.Addr().Unmap()
		if ip.IsUnspecified() || ip == want.Addr().Unmap() {
			return true
		}
	}
	return false
}

// parseProcAddr reads a procfs socket address: the IP as hex of its
// 32-bit words in host (little-endian) order, a colon, the port in hex.
func parseProcAddr(s string) (netip.AddrPort, bool) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(ipHex)
	if err != nil || len(raw)%4 != 0 {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	ip, ok := netip.AddrFromSlice(raw)
	if !ok {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip, uint16(port)), true
}
