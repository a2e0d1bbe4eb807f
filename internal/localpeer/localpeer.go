// Package localpeer tells who is at the other end of a TCP connection.
// TCP has no peer credentials, but a client on this machine has its
// socket listed in /proc/net/tcp (or tcp6) with its owner's uid: the
// entry whose local address is the connection's remote one and whose
// remote address is the connection's local one. bangerd's TCP front-ends
// (the web UI, the E2B API) so serve this machine's processes of the
// daemon's user (and root) only, never a guest, and other machines only
// when they are let in.
package localpeer

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

// Peer is what a server knows of a connection's other end.
type Peer struct {
	Remote, Local netip.AddrPort // the connection's two ends, as seen here
	IsLocal       bool           // a process of this machine
	UID           int            // its owner, when local
	Err           error          // why it could not be told
}

type peerKey struct{}

// procNetFiles are the socket tables searched for a peer.
var procNetFiles = []string{"/proc/net/tcp", "/proc/net/tcp6"}

// ConnContext records the connection's peer; it is meant for
// http.Server.ConnContext, which calls it for each new connection.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	p := Peer{}
	remote, rerr := netip.ParseAddrPort(c.RemoteAddr().String())
	local, lerr := netip.ParseAddrPort(c.LocalAddr().String())
	if err := errors.Join(rerr, lerr); err != nil {
		p.Err = err
	} else {
		p.Remote, p.Local = remote, local
		p.UID, p.IsLocal, p.Err = socketOwner(procNetFiles, remote, local)
	}
	return WithPeer(ctx, p)
}

// WithPeer records p as the peer in ctx, as ConnContext does.
func WithPeer(ctx context.Context, p Peer) context.Context {
	return context.WithValue(ctx, peerKey{}, p)
}

// FromRequest is the request's recorded peer; ok is false for a request
// without one (a handler used on its own, in tests).
func FromRequest(r *http.Request) (p Peer, ok bool) {
	p, ok = r.Context().Value(peerKey{}).(Peer)
	return p, ok
}

// socketOwner finds the uid owning the socket whose local address is
// sockLocal and remote address sockRemote, in the given socket tables.
// found is false when no table lists it.
func socketOwner(files []string, sockLocal, sockRemote netip.AddrPort) (uid int, found bool, err error) {
	for _, name := range files {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue // no IPv6 here
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
