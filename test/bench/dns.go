package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	miekg "github.com/miekg/dns"

	"banger/internal/dns"
)

// The DNS load: a fixed number of questions, shared by a few clients that
// each wait for their answer before asking again. Everything stays on
// loopback and stops by itself.
const (
	dnsQueries  = 10000
	dnsClients  = 8
	dnsNames    = 64
	dnsQPSFloor = 20000 // target for .vm answers on one core
)

// benchDNS measures bangerd's DNS server answering NAME.vm over UDP on
// loopback, run in this process on one core (GOMAXPROCS=1, clients
// included), beside two baselines from the same run: the same clients
// against a UDP echo server (the socket floor) and the handler called
// without sockets. It prints its own table.
func benchDNS() error {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	recs := &dns.Records{}
	names := make(map[string]netip.Addr, dnsNames)
	questions := make([]*miekg.Msg, dnsNames)
	for i := range dnsNames {
		name := fmt.Sprintf("vm-%d", i)
		names[name] = netip.AddrFrom4([4]byte{172, 16, byte(i / 250), byte(2 + i%250)})
		questions[i] = new(miekg.Msg).SetQuestion(name+".vm.", miekg.TypeA)
	}
	recs.Replace(names)
	h := dns.NewHandler(dns.Options{Lookup: recs.Lookup})

	srv, err := dns.Listen([]string{"127.0.0.1:0"}, h)
	if err != nil {
		return err
	}
	defer srv.Close()
	served, err := udpLoad(srv.Addrs()[0].String(), questions, true)
	if err != nil {
		return fmt.Errorf("dns bench: %w", err)
	}

	echo, err := echoServer()
	if err != nil {
		return err
	}
	defer echo.Close()
	floor, err := udpLoad(echo.LocalAddr().String(), questions, false)
	if err != nil {
		return fmt.Errorf("dns bench baseline: %w", err)
	}

	start := time.Now()
	for i := range dnsQueries {
		if m := h.Answer(context.Background(), netip.MustParseAddr("127.0.0.1"), questions[i%dnsNames]); len(m.Answer) != 1 {
			return fmt.Errorf("dns bench: no answer for %s", questions[i%dnsNames].Question[0].Name)
		}
	}
	inProc := float64(dnsQueries) / time.Since(start).Seconds()

	verdict := "met"
	if served < dnsQPSFloor {
		verdict = "MISSED"
	}
	load := fmt.Sprintf("%d queries, %d clients, 1 core", dnsQueries, dnsClients)
	reportOneShots([]oneShot{
		{name: ".vm A queries over UDP loopback (" + load + ")", value: qps(served), target: fmt.Sprintf("> %d qps: %s", dnsQPSFloor, verdict)},
		{name: "baseline: UDP echo over loopback (same load)", value: qps(floor)},
		{name: "baseline: .vm answers without sockets", value: qps(inProc)},
	})
	return nil
}

func qps(v float64) string { return fmt.Sprintf("%.0f qps", v) }

// udpLoad sends dnsQueries questions to addr from dnsClients connected
// UDP sockets, each waiting for its answer, and returns answers per
// second. With check it insists on one A record per answer.
func udpLoad(addr string, questions []*miekg.Msg, check bool) (float64, error) {
	conns := make([]*miekg.Conn, dnsClients)
	for i := range conns {
		c, err := net.Dial("udp", addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		conns[i] = &miekg.Conn{Conn: c}
	}
	errs := make([]error, dnsClients)
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range conns {
		wg.Go(func() {
			for n := i; n < dnsQueries; n += dnsClients {
				q := questions[n%len(questions)].Copy()
				q.Id = uint16(n)
				_ = c.SetDeadline(time.Now().Add(2 * time.Second))
				if err := c.WriteMsg(q); err != nil {
					errs[i] = err
					return
				}
				r, err := c.ReadMsg()
				if err == nil && (r.Id != q.Id || check && len(r.Answer) != 1) {
					err = fmt.Errorf("bad answer to %s: %v", q.Question[0].Name, r)
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return float64(dnsQueries) / elapsed.Seconds(), nil
}

// echoServer sends every datagram back as it came, with the response bit
// set, so that it parses as an answer.
func echoServer() (net.PacketConn, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n > 2 {
				buf[2] |= 0x80 // QR
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	return pc, nil
}
