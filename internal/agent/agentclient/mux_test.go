package agentclient_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/agent/internal/connpair"
	"banger/internal/errdefs"
)

// fakeGuest speaks the guest's side of a multiplexed connection by hand,
// so tests choose exactly what goes on the wire and when.
type fakeGuest struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

// line is any line the host sends.
type line struct {
	agentproto.Request
	agentproto.Frame
}

func (g *fakeGuest) read() line {
	g.t.Helper()
	g.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		b, err := g.br.ReadBytes('\n')
		if err != nil {
			g.t.Fatalf("fake guest reading: %v", err)
		}
		if strings.TrimSpace(string(b)) == "" {
			continue
		}
		var l line
		if err := json.Unmarshal(b, &l); err != nil {
			g.t.Fatalf("host sent %q: %v", b, err)
		}
		return l
	}
}

func (g *fakeGuest) write(v any) {
	g.t.Helper()
	b, _ := agentproto.MarshalLine(v)
	if _, err := g.c.Write(b); err != nil {
		g.t.Fatalf("fake guest writing: %v", err)
	}
}

// upgraded returns a Mux whose guest is a fakeGuest that granted streams.
func upgraded(t *testing.T) (*agentclient.Mux, *fakeGuest) { return upgradedWith(t) }

func upgradedWith(t *testing.T, opts ...agentclient.Option) (*agentclient.Mux, *fakeGuest) {
	return upgradedGranting(t, []string{agentproto.FeatureStreams}, opts...)
}

// upgradedGranting is a Mux onto a fake guest that grants features.
func upgradedGranting(t *testing.T, features []string, opts ...agentclient.Option) (*agentclient.Mux, *fakeGuest) {
	host, guest := connpair.New(t)
	g := &fakeGuest{t: t, c: guest, br: bufio.NewReader(guest)}
	type result struct {
		m   *agentclient.Mux
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := agentclient.Upgrade(testCtx(t), agentclient.NewConn(host), opts...)
		done <- result{m, err}
	}()
	hello := g.read()
	if hello.V != 2 || hello.Op != agentproto.OpHello || !slices.Equal(hello.Features, []string{agentproto.FeatureStreams, agentproto.FeatureWriteAttrs}) {
		t.Fatalf("upgrade hello = %+v", hello.Request)
	}
	// Noise from an earlier connection first: the host must skip it.
	g.write(agentproto.Frame{Ch: 999, Out: []byte("stale")})
	g.write(agentproto.Response{V: 2, ID: hello.ID, OK: true, Hello: &agentproto.Hello{Protocol: 2, Features: features}})
	r := <-done
	if r.err != nil {
		t.Fatalf("Upgrade: %v", r.err)
	}
	return r.m, g
}

func TestUpgradeOnAVersion1Agent(t *testing.T) {
	host, guest := net.Pipe()
	defer host.Close()
	g := &fakeGuest{t: t, c: guest, br: bufio.NewReader(guest)}
	done := make(chan error, 1)
	c := agentclient.NewConn(host)
	go func() {
		_, err := agentclient.Upgrade(testCtx(t), c)
		done <- err
	}()
	hello := g.read()
	g.write(agentproto.Response{V: 1, ID: hello.ID, Code: agentproto.CodeUnsupportedVersion, Error: "protocol version 2 is not supported"})
	if err := <-done; !errors.Is(err, agentclient.ErrNoStreams) || !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("Upgrade on a v1 agent = %v; want ErrNoStreams, failed precondition", err)
	}
	// The connection still speaks version 1.
	go func() {
		req := g.read()
		g.write(agentproto.Response{V: 1, ID: req.ID, OK: true, Status: &agentproto.Status{Ready: true}})
	}()
	if st, err := c.Status(testCtx(t)); err != nil || !st.Ready {
		t.Fatalf("status after a refused upgrade = %+v, %v", st, err)
	}
}

func TestMuxAnswersOutOfOrder(t *testing.T) {
	m, g := upgraded(t)
	type result struct {
		st  agentproto.Status
		err error
	}
	slow, fast := make(chan result, 1), make(chan result, 1)
	go func() { st, err := m.Status(testCtx(t)); slow <- result{st, err} }()
	first := g.read()
	go func() { st, err := m.Status(testCtx(t)); fast <- result{st, err} }()
	second := g.read()
	if first.ID == second.ID {
		t.Fatalf("two requests with id %d", first.ID)
	}
	g.write(agentproto.Response{V: 2, ID: second.ID, OK: true, Status: &agentproto.Status{Hostname: "second"}})
	if r := <-fast; r.err != nil || r.st.Hostname != "second" {
		t.Fatalf("second request's answer = %+v", r)
	}
	g.write(agentproto.Response{V: 2, ID: first.ID, OK: true, Status: &agentproto.Status{Hostname: "first"}})
	if r := <-slow; r.err != nil || r.st.Hostname != "first" {
		t.Fatalf("first request's answer = %+v", r)
	}
}

func TestMuxChannelFramesAndCredit(t *testing.T) {
	m, g := upgraded(t)
	type opened struct {
		ch  *agentclient.Channel
		err error
	}
	done := make(chan opened, 1)
	go func() {
		ch, err := m.Exec(testCtx(t), agentproto.ExecSpec{Argv: []string{"cat"}})
		done <- opened{ch, err}
	}()
	req := g.read()
	if req.Op != agentproto.OpExec || req.Exec == nil || req.Exec.Argv[0] != "cat" {
		t.Fatalf("exec request = %+v", req.Request)
	}
	g.write(agentproto.Response{V: 2, ID: req.ID, OK: true})
	// Output may follow the answer at once.
	g.write(agentproto.Frame{Ch: req.ID, Out: []byte("out")})
	g.write(agentproto.Frame{Ch: req.ID, Err: []byte("err")})
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	ch := o.ch
	if ev, err := ch.Next(testCtx(t)); err != nil || string(ev.Stdout) != "out" {
		t.Fatalf("first event = %+v, %v", ev, err)
	}
	if ev, err := ch.Next(testCtx(t)); err != nil || string(ev.Stderr) != "err" {
		t.Fatalf("second event = %+v, %v", ev, err)
	}

	// The host sends no more input than the guest's credit allows.
	in := strings.Repeat("x", agentproto.InitialCredit+100)
	wrote := make(chan error, 1)
	go func() { _, err := ch.Write([]byte(in)); wrote <- err }()
	got := 0
	for got < agentproto.InitialCredit {
		f := g.read()
		if f.Ch != req.ID || len(f.In) > agentproto.MaxChunk {
			t.Fatalf("input frame %+v", f.Frame)
		}
		got += len(f.In)
	}
	if got != agentproto.InitialCredit {
		t.Fatalf("host sent %d bytes on a credit of %d", got, agentproto.InitialCredit)
	}
	select {
	case err := <-wrote:
		t.Fatalf("Write returned (%v) before the guest granted more credit", err)
	case <-time.After(50 * time.Millisecond):
	}
	g.write(agentproto.Frame{Ch: req.ID, Credit: 100})
	if f := g.read(); len(f.In) != 100 {
		t.Fatalf("after a credit of 100: %+v", f.Frame)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}

	// The host grants credit back as it consumes output. The guest has
	// already spent 6 bytes ("out" and "err") of its initial credit, so it
	// sends 6 bytes less now: a guest past its credit loses its channel.
	chunk := strings.Repeat("y", agentproto.MaxChunk)
	chunks := agentproto.InitialCredit / agentproto.MaxChunk
	for i := range chunks {
		out := chunk
		if i == chunks-1 {
			out = chunk[6:]
		}
		g.write(agentproto.Frame{Ch: req.ID, Out: []byte(out)})
	}
	for range chunks / 2 {
		if _, err := ch.Next(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	// (plus the 6 bytes of "out" and "err")
	if f := g.read(); f.Ch != req.ID || f.Credit != agentproto.InitialCredit/2+6 {
		t.Fatalf("after consuming half the credit: %+v; want a credit of %d", f.Frame, agentproto.InitialCredit/2+6)
	}
	// With that grant the guest may send the 6 bytes it held back.
	g.write(agentproto.Frame{Ch: req.ID, Out: []byte("zzzzzz")})
	for left := agentproto.InitialCredit / 2; left > 0; {
		ev, err := ch.Next(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		left -= len(ev.Stdout)
	}
	if f := g.read(); f.Credit != agentproto.InitialCredit/2 {
		t.Fatalf("after consuming the rest: %+v", f.Frame)
	}

	// Signals and sizes go out as frames; the exit status ends the channel.
	go ch.Signal("INT")
	if f := g.read(); f.Sig != "INT" {
		t.Fatalf("signal frame = %+v", f.Frame)
	}
	g.write(agentproto.Frame{Ch: req.ID, Exit: &agentproto.ExitStatus{Code: 3}})
	if ev, err := ch.Next(testCtx(t)); err != nil || ev.Exit == nil || ev.Exit.Code != 3 {
		t.Fatalf("exit event = %+v, %v", ev, err)
	}
	if _, err := ch.Next(testCtx(t)); !errors.Is(err, agentclient.ErrChannelEnded) {
		t.Fatalf("Next after the exit = %v; want ErrChannelEnded", err)
	}
}

func TestMuxConnectionLossFailsEverything(t *testing.T) {
	m, g := upgraded(t)
	chDone := make(chan *agentclient.Channel, 1)
	go func() {
		ch, _ := m.Exec(testCtx(t), agentproto.ExecSpec{Argv: []string{"sleep", "9"}})
		chDone <- ch
	}()
	req := g.read()
	g.write(agentproto.Response{V: 2, ID: req.ID, OK: true})
	ch := <-chDone
	pending := make(chan error, 1)
	go func() { _, err := m.Status(testCtx(t)); pending <- err }()
	g.read()
	g.c.Close()
	if err := <-pending; !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("pending call after the connection closed = %v; want unavailable", err)
	}
	if _, err := ch.Next(testCtx(t)); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("channel after the connection closed = %v; want unavailable", err)
	}
	<-m.Done()
	if _, err := m.Status(testCtx(t)); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("call on a closed mux = %v; want unavailable", err)
	}
}
