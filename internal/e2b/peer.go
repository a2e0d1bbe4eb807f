package e2b

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Who may connect. As for the web UI (whose internal/web/peer.go this
// follows): a client on this machine has its socket listed in
// /proc/net/tcp (or tcp6) with its owner's uid, so the E2B API serves
// this machine's processes of the daemon's user (and root) only, never a
// guest, and other machines only when e2b_allow_remote lets it listen
// beyond loopback. The API key is checked on top of that.

// GuestNet names the guests' network: the bridge's subnet and the bridge.
type GuestNet struct {
	Subnet netip.Prefix
	Bridge string
}

// peer is what the server knows of a connection's other end.
type peer struct {
	remote, local netip.AddrPort
	isLocal       bool // a process of this machine
	uid           int  // its owner, when local
	err           error
}

type peerKey struct{}

// procNetFiles are the socket tables searched for a peer.
var procNetFiles = []string{"/proc/net/tcp", "/proc/net/tcp6"}

// withPeer records the connection's peer; http.Server calls it for each
// new connection.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	p := peer{}
	remote, rerr := netip.ParseAddrPort(c.RemoteAddr().String())
	local, lerr := netip.ParseAddrPort(c.LocalAddr().String())
	if err := errors.Join(rerr, lerr); err != nil {
		p.err = err
	} else {
		p.remote, p.local = remote, local
		p.uid, p.isLocal, p.err = socketOwner(procNetFiles, remote, local)
	}
	return context.WithValue(ctx, peerKey{}, p)
}

// checkPeer says why a request's connection is refused, or "" when it
// may go on. A request without a recorded peer (a handler used on its
// own, in tests) passes.
func (s *Server) checkPeer(r *http.Request) string {
	p, ok := r.Context().Value(peerKey{}).(peer)
	switch {
	case !ok:
		return ""
	case p.err != nil:
		s.log.Warn("e2b: cannot tell who connected", "remote", r.RemoteAddr, "err", p.err)
		return "cannot tell which user this connection belongs to, so it is refused"
	case s.fromGuest(p):
		s.log.Warn("e2b: refused a guest", "remote", r.RemoteAddr)
		return "the E2B API does not serve banger's guests"
	case p.isLocal && p.uid != os.Getuid() && p.uid != 0:
		s.log.Warn("e2b: refused another user", "uid", p.uid, "remote", r.RemoteAddr)
		return fmt.Sprintf("this E2B API serves only the user who runs bangerd (uid %d); this connection is uid %d's", os.Getuid(), p.uid)
	case !p.isLocal && !s.allowRemote:
		return "this E2B API serves only this machine: set e2b_allow_remote = true to let others in with the API key"
	}
	return ""
}

// fromGuest reports whether a connection comes from a guest: from an
// address of the guests' subnet, to one (the bridge's own), or over the
// bridge's link.
func (s *Server) fromGuest(p peer) bool {
	if s.guests == nil {
		return false
	}
	g := s.guests()
	for _, a := range []netip.Addr{p.remote.Addr(), p.local.Addr()} {
		if g.Bridge != "" && a.Zone() == g.Bridge {
			return true
		}
		if g.Subnet.IsValid() && g.Subnet.Contains(a.WithZone("").Unmap()) {
			return true
		}
	}
	return false
}

// socketOwner finds the uid owning the socket whose local address is
// sockLocal and remote address sockRemote, in the given socket tables.
func socketOwner(files []string, sockLocal, sockRemote netip.AddrPort) (uid int, found bool, err error) {
	for _, name := range files {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return 0, false, err
		}
		uid, found, err = findSocket(f, sockLocal, sockRemote)
		f.Close()
		if err != nil || found {
			return uid, found, err
		}
	}
	return 0, false, nil
}

// findSocket scans one table in the format of /proc/net/tcp.
func findSocket(r io.Reader, sockLocal, sockRemote netip.AddrPort) (int, bool, error) {
	want := [2]netip.AddrPort{unmap(sockLocal), unmap(sockRemote)}
	sc := bufio.NewScanner(r)
	sc.Scan() // the header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		l, lerr := parseProcAddr(f[1])
		rm, rerr := parseProcAddr(f[2])
		if lerr != nil || rerr != nil {
			return 0, false, fmt.Errorf("reading the socket table: %w", errors.Join(lerr, rerr))
		}
		if l == want[0] && rm == want[1] {
			uid, err := strconv.Atoi(f[7])
			if err != nil {
				return 0, false, fmt.Errorf("reading the socket table: uid %q: %w", f[7], err)
			}
			return uid, true, nil
		}
	}
	return 0, false, sc.Err()
}

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// parseProcAddr parses ADDR:PORT as the kernel prints it: the address as
// 32-bit words in host byte order, the port as a number, both in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
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
