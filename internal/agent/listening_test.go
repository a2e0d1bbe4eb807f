package agent

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// TestListeningReadsTheKernelsTables checks listening against real
// sockets of this process's network namespace.
func TestListeningReadsTheKernelsTables(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	// A connected socket on another port is not a listener.
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, err := listening("/proc", addr); err != nil || !ok {
		t.Errorf("listening(%s) with a listener = %v, %v; want true", addr, ok, err)
	}
	if ok, err := listening("/proc", c.LocalAddr().String()); err != nil || ok {
		t.Errorf("listening(%s), a connected socket's port = %v, %v; want false", c.LocalAddr(), ok, err)
	}
	ln.Close()
	if ok, err := listening("/proc", addr); err != nil || ok {
		t.Errorf("listening(%s) once closed = %v, %v; want false", addr, ok, err)
	}

	// A listener on every address, in the IPv6 table, takes IPv4 too.
	if _, err := os.Stat("/proc/net/tcp6"); err != nil {
		t.Skip("no IPv6 here:", err)
	}
	ln6, err := net.Listen("tcp", "[::]:0")
	if err != nil {
		t.Skip("no IPv6 listener here:", err)
	}
	defer ln6.Close()
	port := ln6.Addr().(*net.TCPAddr).Port
	v4 := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)).String()
	if ok, err := listening("/proc", v4); err != nil || !ok {
		t.Errorf("listening(%s) with a [::] listener = %v, %v; want true", v4, ok, err)
	}
}

func TestListeningReadsATable(t *testing.T) {
	line := procTCPLine
	for _, tc := range []struct {
		name, table string
		ok          bool
	}{
		{"loopback listener", line("0100007F:0016", "0A"), true},
		{"wildcard listener", line("00000000:0016", "0A"), true},
		{"IPv6 wildcard listener", line("00000000000000000000000000000000:0016", "0A"), true},
		{"IPv4-mapped loopback listener", line("0000000000000000FFFF00000100007F:0016", "0A"), true},
		{"established, not listening", line("0100007F:0016", "01"), false},
		{"another port", line("0100007F:0017", "0A"), false},
		{"another address", line("0200000A:0016", "0A"), false},
		{"IPv6 loopback only", line("00000000000000000000000001000000:0016", "0A"), false},
		{"garbled", line("zz:0016", "0A") + line("0100007F", "0A"), false},
		{"empty", "", false},
	} {
		proc := t.TempDir()
		writeFile(t, filepath.Join(proc, "net", "tcp"), procTCPHeader+tc.table)
		if got, _ := listening(proc, "127.0.0.1:22"); got != tc.ok {
			t.Errorf("%s: listening = %v; want %v", tc.name, got, tc.ok)
		}
	}
}
