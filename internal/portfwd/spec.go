// Package portfwd forwards ports of the host to a guest: a userspace TCP
// and UDP proxy that listens on a host address and dials the guest's
// address on the bridge. bangerd runs one Forwarder per running VM.
package portfwd

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Protocols a forward carries.
const (
	TCP = "tcp"
	UDP = "udp"
)

// DefaultHostAddr is where a forward listens unless told otherwise: the
// host's loopback, so nothing outside the host reaches the guest.
const DefaultHostAddr = "127.0.0.1"

// Spec is one forward: HostAddr:HostPort on the host to GuestPort in the
// guest, over Proto. HostPort 0 asks for any free port.
type Spec struct {
	HostAddr  string
	HostPort  int
	GuestPort int
	Proto     string
}

// Parse reads Docker's -p syntax, [[HOSTADDR:]HOSTPORT:]GUESTPORT[/PROTO]:
// "8000" forwards a free host port to guest port 8000, "18080:8000" host
// port 18080, "0.0.0.0:18080:8000" on every address, "[::1]:53:53/udp"
// UDP on IPv6 loopback. HOSTADDR defaults to 127.0.0.1.
func Parse(s string) (Spec, error) {
	sp := Spec{HostAddr: DefaultHostAddr, Proto: TCP}
	rest, proto, ok := strings.Cut(s, "/")
	if ok {
		sp.Proto = proto
	}
	addr, ports := splitAddr(rest)
	if addr != "" {
		sp.HostAddr = addr
	} else if strings.HasSuffix(rest, ":") || strings.HasPrefix(rest, "[") {
		return sp, fmt.Errorf("port forward %q: want [HOSTADDR:][HOSTPORT:]GUESTPORT[/udp], e.g. 8080:80", s)
	}
	host, guest, hasHost := strings.Cut(ports, ":")
	if !hasHost || (host == "" && addr != "") {
		host = "0" // any free port: "8000", "127.0.0.1::8000"
	}
	if !hasHost {
		guest = ports
	}
	var err error
	if sp.GuestPort, err = parsePort(guest, false); err != nil {
		return sp, fmt.Errorf("port forward %q: guest %w", s, err)
	}
	if sp.HostPort, err = parsePort(host, true); err != nil {
		return sp, fmt.Errorf("port forward %q: host %w", s, err)
	}
	if err := sp.Check(); err != nil {
		return sp, fmt.Errorf("port forward %q: %w", s, err)
	}
	return sp, nil
}

// splitAddr splits "ADDR:HOST:GUEST" or "[V6]:HOST:GUEST" into the
// address and the ports; without an address, addr is "".
func splitAddr(s string) (addr, ports string) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]:")
		if end < 0 {
			return "", s
		}
		return s[1:end], s[end+2:]
	}
	if strings.Count(s, ":") < 2 {
		return "", s
	}
	i := strings.Index(s, ":")
	return s[:i], s[i+1:]
}

// parsePort reads a port number; zero only when zeroOK (any free port).
func parsePort(s string, zeroOK bool) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", s)
	}
	if n == 0 && !zeroOK {
		return 0, fmt.Errorf("port 0 cannot be forwarded: give a port from 1 to 65535")
	}
	return n, nil
}

// Check reports what is wrong with sp, an empty HostAddr counting as the
// default.
func (sp Spec) Check() error {
	if sp.Proto != TCP && sp.Proto != UDP {
		return fmt.Errorf("protocol %q: want tcp or udp", sp.Proto)
	}
	if sp.GuestPort < 1 || sp.GuestPort > 65535 {
		return fmt.Errorf("guest port %d: want 1 to 65535", sp.GuestPort)
	}
	if sp.HostPort < 0 || sp.HostPort > 65535 {
		return fmt.Errorf("host port %d: want 1 to 65535, or 0 for any free port", sp.HostPort)
	}
	if sp.HostAddr == "" {
		return nil
	}
	if _, err := netip.ParseAddr(sp.HostAddr); err != nil {
		return fmt.Errorf("host address %q is not an IP address (give one such as 127.0.0.1 or 0.0.0.0)", sp.HostAddr)
	}
	return nil
}

// Listen is the address sp listens on, HostAddr defaulting to loopback.
func (sp Spec) Listen() string {
	addr := sp.HostAddr
	if addr == "" {
		addr = DefaultHostAddr
	}
	return net.JoinHostPort(addr, strconv.Itoa(sp.HostPort))
}

// String is sp in Parse's syntax, always with address and protocol.
func (sp Spec) String() string {
	return fmt.Sprintf("%s:%d/%s", sp.Listen(), sp.GuestPort, sp.Proto)
}

// Same reports whether a and b listen on the same host address, port and
// protocol (HostAddr "" being the default).
func (sp Spec) Same(o Spec) bool {
	return sp.Listen() == o.Listen() && sp.Proto == o.Proto
}

// ParseHost reads the host side of a forward, [HOSTADDR:]HOSTPORT[/PROTO],
// as `banger vm port-forward --rm` names one: "18080", "127.0.0.1:18080",
// "53/udp". HostAddr and Proto stay empty when not given (any matches).
func ParseHost(s string) (Spec, error) {
	var sp Spec
	rest, proto, ok := strings.Cut(s, "/")
	if ok {
		if proto != TCP && proto != UDP {
			return sp, fmt.Errorf("host port %q: protocol %q: want tcp or udp", s, proto)
		}
		sp.Proto = proto
	}
	port := rest
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		sp.HostAddr, port = strings.TrimSuffix(strings.TrimPrefix(rest[:i], "["), "]"), rest[i+1:]
		if _, err := netip.ParseAddr(sp.HostAddr); err != nil {
			return sp, fmt.Errorf("host port %q: address %q is not an IP address", s, sp.HostAddr)
		}
	}
	n, err := parsePort(port, false)
	if err != nil {
		return sp, fmt.Errorf("host port %q: %w", s, err)
	}
	sp.HostPort = n
	return sp, nil
}
