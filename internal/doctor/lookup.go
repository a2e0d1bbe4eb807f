package doctor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// lookupA asks server (host:port) over UDP for the IPv4 addresses of
// name, without going through the host's resolver. It is the doctor's
// own small client, so that the CLI does not link bangerd's DNS server.
func lookupA(ctx context.Context, server, name string) ([]netip.Addr, error) {
	q, err := dnsmessage.NewName(strings.TrimSuffix(name, ".") + ".")
	if err != nil {
		return nil, fmt.Errorf("asking %s for %s: %w", server, name, err)
	}
	id := uint16(rand.Uint32())
	query, err := (&dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: q, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}},
	}).Pack()
	if err != nil {
		return nil, fmt.Errorf("asking %s for %s: %w", server, name, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := conn.Write(query); err != nil {
		return nil, err
	}
	return readAnswer(conn, id, server, name)
}

// readAnswer reads datagrams until the answer to query id, skipping any
// other.
func readAnswer(conn net.Conn, id uint16, server, name string) ([]netip.Addr, error) {
	buf := make([]byte, 64<<10)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil || h.ID != id || !h.Response {
			continue
		}
		if h.RCode != dnsmessage.RCodeSuccess {
			return nil, fmt.Errorf("%s answered %s for %s", server, rcodeName(h.RCode), name)
		}
		return addrsOf(&p)
	}
}

// addrsOf returns the A records of the answer section p is at.
func addrsOf(p *dnsmessage.Parser) ([]netip.Addr, error) {
	if err := p.SkipAllQuestions(); err != nil {
		return nil, fmt.Errorf("reading a DNS answer: %w", err)
	}
	var out []netip.Addr
	for {
		h, err := p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading a DNS answer: %w", err)
		}
		if h.Type != dnsmessage.TypeA || h.Class != dnsmessage.ClassINET {
			if err := p.SkipAnswer(); err != nil {
				return nil, fmt.Errorf("reading a DNS answer: %w", err)
			}
			continue
		}
		a, err := p.AResource()
		if err != nil {
			return nil, fmt.Errorf("reading a DNS answer: %w", err)
		}
		out = append(out, netip.AddrFrom4(a.A))
	}
}

// rcodeName is the name dig prints for a response code.
func rcodeName(c dnsmessage.RCode) string {
	switch c {
	case dnsmessage.RCodeFormatError:
		return "FORMERR"
	case dnsmessage.RCodeServerFailure:
		return "SERVFAIL"
	case dnsmessage.RCodeNameError:
		return "NXDOMAIN"
	case dnsmessage.RCodeNotImplemented:
		return "NOTIMP"
	case dnsmessage.RCodeRefused:
		return "REFUSED"
	}
	return fmt.Sprintf("RCODE%d", c)
}
