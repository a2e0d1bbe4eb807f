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
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"

	"banger/internal/procnet"
)

// Peer is what a server knows of a connection's other end.
type Peer struct {
	Remote, Local netip.AddrPort // the connection's two ends, as seen here
	IsLocal       bool           // a process of this machine
	UID           int            // its owner, when local
	Err           error          // why it could not be told
}

type peerKey struct{}

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
		p.UID, p.IsLocal, p.Err = socketOwner("/proc", remote, local)
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
// sockLocal and remote address sockRemote, in the socket tables of the
// procfs at procDir. found is false when no table lists it.
func socketOwner(procDir string, sockLocal, sockRemote netip.AddrPort) (int, bool, error) {
	o := newOwner(sockLocal, sockRemote)
	return o.result(procnet.ScanTables(procDir, o.see))
}

// findSocket scans one table in the format of /proc/net/tcp.
func findSocket(r io.Reader, sockLocal, sockRemote netip.AddrPort) (int, bool, error) {
	o := newOwner(sockLocal, sockRemote)
	return o.result(procnet.Scan(r, o.see))
}

// owner looks, socket by socket, for the one with the given two ends.
type owner struct {
	local, remote netip.AddrPort
	uid           int
	found         bool
	err           error
}

func newOwner(sockLocal, sockRemote netip.AddrPort) *owner {
	return &owner{local: unmap(sockLocal), remote: unmap(sockRemote)}
}

// see is a scan's callback: it stops at the socket sought.
func (o *owner) see(s procnet.Socket) bool {
	if s.Local != o.local || s.Remote != o.remote {
		return true
	}
	o.found = true
	if o.uid, o.err = strconv.Atoi(s.UID); o.err != nil {
		o.err = fmt.Errorf("reading the socket table: uid %q: %w", s.UID, o.err)
	}
	return false
}

// result is what the scan found, given the scan's own error.
func (o *owner) result(scanErr error) (int, bool, error) {
	if err := errors.Join(scanErr, o.err); err != nil {
		return 0, false, err
	}
	return o.uid, o.found, nil
}

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}
