package dns

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	miekg "github.com/miekg/dns"
)

// Upstream forwards questions to a list of resolvers, in order: the next
// is asked when one cannot be reached or answers SERVFAIL, NOTIMP or
// REFUSED. An answer truncated over UDP is asked again over TCP.
type Upstream struct {
	// Servers returns the resolvers to ask, as host:port.
	Servers func() []string
}

var _ Forwarder = (*Upstream)(nil)

// errNoUpstream is returned when there is no resolver to ask.
var errNoUpstream = errors.New("the host has no resolver to forward to")

// Forward asks the servers in turn until one answers, or ctx ends.
func (u *Upstream) Forward(ctx context.Context, req *miekg.Msg) (*miekg.Msg, error) {
	servers := u.Servers()
	if len(servers) == 0 {
		return nil, errNoUpstream
	}
	var last *miekg.Msg
	var errs []error
	for _, s := range servers {
		resp, err := exchange(ctx, "udp", s, req)
		if err == nil && resp.Truncated {
			resp, err = exchange(ctx, "tcp", s, req)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		switch resp.Rcode {
		case miekg.RcodeServerFailure, miekg.RcodeNotImplemented, miekg.RcodeRefused:
			last = resp
			continue
		}
		return resp, nil
	}
	if last != nil {
		return last, nil
	}
	return nil, errors.Join(errs...)
}

// serverTimeout bounds one attempt, so that a resolver that drops
// questions leaves time to ask the next.
const serverTimeout = time.Second

func exchange(ctx context.Context, network, server string, req *miekg.Msg) (*miekg.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, serverTimeout)
	defer cancel()
	c := &miekg.Client{Net: network, UDPSize: miekg.DefaultMsgSize}
	resp, _, err := c.ExchangeContext(ctx, req, server)
	return resp, err
}

// resolvConfFiles are read in order; the first that names a usable
// resolver wins. systemd-resolved writes the second, with its upstream
// servers, for hosts whose /etc/resolv.conf does not list them.
var resolvConfFiles = []string{"/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"}

// HostServers returns a Servers function for Upstream that reads the
// host's resolvers from /etc/resolv.conf (or systemd-resolved's list), as
// host:53, leaving out those that skip reports: the server's own
// addresses, which would make a loop. The files are read again when they
// change.
func HostServers(skip func(netip.Addr) bool) func() []string {
	return (&resolvConf{files: resolvConfFiles, skip: skip}).servers
}

// resolvConf caches the servers found in files, keyed by their sizes and
// modification times.
type resolvConf struct {
	files []string
	skip  func(netip.Addr) bool

	mu   sync.Mutex
	key  string
	list []string
}

func (r *resolvConf) servers() []string {
	var key strings.Builder
	for _, f := range r.files {
		if st, err := os.Stat(f); err == nil {
			fmt.Fprintf(&key, "%s %d %d;", f, st.Size(), st.ModTime().UnixNano())
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if key.String() == r.key && r.list != nil {
		return r.list
	}
	r.key, r.list = key.String(), []string{}
	for _, f := range r.files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, a := range ParseResolvConf(b) {
			if r.skip == nil || !r.skip(a) {
				r.list = append(r.list, net.JoinHostPort(a.String(), "53"))
			}
		}
		if len(r.list) > 0 {
			break
		}
	}
	return r.list
}

// ParseResolvConf returns the nameserver addresses of a resolv.conf, in
// order, without unspecified addresses and anything that does not parse.
func ParseResolvConf(b []byte) []netip.Addr {
	var out []netip.Addr
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(fields[1])
		if err != nil || a.IsUnspecified() {
			continue
		}
		out = append(out, a.Unmap())
	}
	return out
}
