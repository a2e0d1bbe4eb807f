package agentclient_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

// A guest that sends more output than the host granted loses the channel
// instead of growing bangerd's memory.
func TestMuxClosesAChannelFloodedPastItsCredit(t *testing.T) {
	var logs bytes.Buffer
	m, g := upgradedWith(t, agentclient.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)).With("vm", "box")))
	ch, id := openExec(t, m, g)

	chunk := []byte(strings.Repeat("y", agentproto.MaxChunk))
	for range 4 * agentproto.InitialCredit / agentproto.MaxChunk {
		g.write(agentproto.Frame{Ch: id, Out: chunk})
	}
	// The reader takes lines in order: once this answer is in, every
	// flooding frame has been handled.
	others := statusRoundTrip(t, m, g)

	if q := agentclient.QueuedBytes(ch); q > agentproto.InitialCredit {
		t.Fatalf("the host queued %d bytes on a credit of %d", q, agentproto.InitialCredit)
	}
	if len(others) == 0 {
		others = append(others, g.read())
	}
	if f := others[0]; f.Ch != id || !f.End {
		t.Fatalf("after the flood the guest got %+v; want the channel ended", f.Frame)
	}
	var err error
	read := 0
	for err == nil {
		var ev agentclient.Event
		ev, err = ch.Next(testCtx(t))
		read += len(ev.Stdout)
	}
	if !errors.Is(err, errdefs.ErrUnavailable) || !strings.Contains(err.Error(), "past its credit; channel closed") {
		t.Fatalf("reading the flooded channel ended with %v; want it closed for exceeding its credit", err)
	}
	if read != agentproto.InitialCredit {
		t.Errorf("read %d bytes before the error; want the %d granted", read, agentproto.InitialCredit)
	}
	if n := strings.Count(logs.String(), "overran"); n != 1 || !strings.Contains(logs.String(), "vm=box") {
		t.Errorf("log = %q; want one line about the overrun, with vm=box", logs.String())
	}
}

// An honest guest that waits for grants keeps its channel however much it
// sends.
func TestMuxKeepsAChannelWithinItsCredit(t *testing.T) {
	m, g := upgraded(t)
	ch, id := openExec(t, m, g)
	chunk := []byte(strings.Repeat("z", agentproto.MaxChunk))
	credit := int64(agentproto.InitialCredit)
	for range 4 * agentproto.InitialCredit / agentproto.MaxChunk {
		for credit < agentproto.MaxChunk {
			f := g.read()
			credit += f.Credit
		}
		g.write(agentproto.Frame{Ch: id, Out: chunk})
		credit -= agentproto.MaxChunk
		if ev, err := ch.Next(testCtx(t)); err != nil || len(ev.Stdout) != agentproto.MaxChunk {
			t.Fatalf("Next = %d bytes, %v", len(ev.Stdout), err)
		}
	}
}

func openExec(t *testing.T, m *agentclient.Mux, g *fakeGuest) (*agentclient.Channel, uint64) {
	t.Helper()
	type opened struct {
		ch  *agentclient.Channel
		err error
	}
	done := make(chan opened, 1)
	go func() {
		ch, err := m.Exec(testCtx(t), agentproto.ExecSpec{Argv: []string{"yes"}})
		done <- opened{ch, err}
	}()
	req := g.read()
	g.write(agentproto.Response{V: 2, ID: req.ID, OK: true})
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o.ch, req.ID
}

// statusRoundTrip answers a status request, returning the lines the host
// sent before it.
func statusRoundTrip(t *testing.T, m *agentclient.Mux, g *fakeGuest) []line {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := m.Status(testCtx(t)); done <- err }()
	var others []line
	req := g.read()
	for req.Op != agentproto.OpStatus {
		others = append(others, req)
		req = g.read()
	}
	g.write(agentproto.Response{V: 2, ID: req.ID, OK: true, Status: &agentproto.Status{}})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return others
}
