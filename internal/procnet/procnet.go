// Package procnet reads the kernel's TCP socket tables, /proc/net/tcp and
// /proc/net/tcp6: one line per socket, after a header.
package procnet

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// StateListen is a listening socket's state in the tables.
const StateListen = "0A"

// Tables are the TCP socket tables of the procfs mounted at procDir; the
// second is absent where IPv6 is off.
func Tables(procDir string) []string {
	return []string{filepath.Join(procDir, "net", "tcp"), filepath.Join(procDir, "net", "tcp6")}
}

// ScanTables is Scan over each table of the procfs mounted at procDir
// that exists, until fn returns false.
func ScanTables(procDir string, fn func(Socket) bool) error {
	more := true
	for _, name := range Tables(procDir) {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue // no IPv6 here
		} else if err != nil {
			return err
		}
		err = Scan(f, func(s Socket) bool {
			more = fn(s)
			return more
		})
		f.Close()
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// Socket is what banger reads of one table line.
type Socket struct {
	Local, Remote netip.AddrPort // IPv4-mapped addresses unmapped
	State         string         // two hex digits; StateListen for a listener
	UID           string         // the owner, as the table prints it
	Inode         string         // "" on a line too short to have one
}

// Scan calls fn for each socket of a table read from r, until fn returns
// false. Lines with fewer than eight fields are passed over; a socket
// address it cannot read ends the scan with an error.
func Scan(r io.Reader, fn func(Socket) bool) error {
	sc := bufio.NewScanner(r)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		local, lerr := ParseAddr(f[1])
		remote, rerr := ParseAddr(f[2])
		if lerr != nil || rerr != nil {
			return fmt.Errorf("reading the socket table: %w", errors.Join(lerr, rerr))
		}
		s := Socket{Local: local, Remote: remote, State: f[3], UID: f[7]}
		if len(f) > 9 {
			s.Inode = f[9]
		}
		if !fn(s) {
			return nil
		}
	}
	return sc.Err()
}

// ParseAddr parses ADDR:PORT as the kernel prints it: the address as
// 32-bit words in host byte order, the port as a number, both in hex.
// An IPv4-mapped IPv6 address comes back as IPv4.
func ParseAddr(s string) (netip.AddrPort, error) {
	addrHex, portHex, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(addrHex)
	if !ok || err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad socket address %q", s)
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad socket port %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}
