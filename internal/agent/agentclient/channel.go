package agentclient

import (
	"context"
	"errors"
	"sync"

	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

// Event is one thing a channel delivered: output, or its end. Exactly one
// of Stdout, Stderr, Exit and End is set.
type Event struct {
	Stdout, Stderr []byte
	// Exit: the process ended so; the channel is over.
	Exit *agentproto.ExitStatus
	// End: the channel is over without an exit status (session-logs is
	// done, say).
	End bool
}

// ErrChannelEnded is the error of Next after the channel's last event.
var ErrChannelEnded = errors.New("channel ended")

// Channel is the host's end of one channel on a Mux. Next and the writing
// methods may be used from different goroutines.
type Channel struct {
	m      *Mux
	id     uint64
	credit *agentproto.Credit // what may still be sent to the guest
	pid    int                // an exec's process, when the agent says

	mu     sync.Mutex
	events []Event
	over   bool  // the last event is queued
	err    error // the connection failed first
	grants agentproto.Grants
	// allowed is what the agent may still send: the initial credit plus
	// every grant, less what it sent. It bounds events.
	allowed int64
	wake    chan struct{} // a token when events or err change
}

func newChannel(m *Mux) *Channel {
	return &Channel{m: m, credit: agentproto.NewCredit(), allowed: agentproto.InitialCredit, wake: make(chan struct{}, 1)}
}

// deliver queues one frame from the agent. A frame with more data than
// the agent has credit for ends the channel: what the host queues for a
// channel never exceeds what it granted.
func (ch *Channel) deliver(f agentproto.Frame) {
	if ch.m == nil {
		return
	}
	if n := f.DataLen(); n > 0 {
		if excess := ch.charge(n); excess > 0 {
			ch.overrun(excess)
			return
		}
	}
	ch.credit.Add(f.Credit)
	var ev Event
	switch {
	case len(f.Out) > 0:
		ev.Stdout = f.Out
	case len(f.Err) > 0:
		ev.Stderr = f.Err
	case f.Exit != nil:
		ev.Exit = f.Exit
	case f.End:
		ev.End = true
		if f.Why != "" {
			ch.fail(errdefs.Unavailable("the guest agent ended the channel: %s", f.Why))
			return
		}
	default:
		return
	}
	ch.mu.Lock()
	if !ch.over {
		ch.queue(ev)
		ch.over = ev.Exit != nil || ev.End
	}
	ch.mu.Unlock()
	if ev.Exit != nil || ev.End {
		ch.m.forget(ch.id)
		ch.credit.Close()
	}
	ch.poke()
}

// queue adds ev to the events, joining output to the last event's output
// of the same stream, up to a chunk: a guest that sends its credit a byte
// a frame costs the host about as much memory as one that sends chunks.
func (ch *Channel) queue(ev Event) {
	if n := len(ch.events); n > 0 {
		last := &ch.events[n-1]
		switch {
		case ev.Stdout != nil && last.Stdout != nil && len(last.Stdout)+len(ev.Stdout) <= agentproto.MaxChunk:
			last.Stdout = append(last.Stdout, ev.Stdout...)
			return
		case ev.Stderr != nil && last.Stderr != nil && len(last.Stderr)+len(ev.Stderr) <= agentproto.MaxChunk:
			last.Stderr = append(last.Stderr, ev.Stderr...)
			return
		}
	}
	ch.events = append(ch.events, ev)
}

// charge takes n bytes off the agent's credit; when it has less, it takes
// nothing and returns by how much n is over.
func (ch *Channel) charge(n int64) int64 {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.over {
		return 0 // dropped below; the channel is done
	}
	if n > ch.allowed {
		return n - ch.allowed
	}
	ch.allowed -= n
	return 0
}

// overrun ends a channel whose agent sent excess bytes past its credit, as
// only a broken or hostile guest does: the caller's next read fails, and
// the agent is told the channel is over.
func (ch *Channel) overrun(excess int64) {
	ch.fail(errdefs.Unavailable("the guest agent sent %d bytes past its credit; channel closed", excess))
	ch.m.forget(ch.id)
	ch.m.log.Warn("guest agent overran a channel's credit; closed the channel", "ch", ch.id, "excess", excess)
	// Not from the reader's goroutine: a guest that does not read must not
	// hold up the connection's other channels.
	go ch.m.send(agentproto.Frame{Ch: ch.id, End: true})
}

func (ch *Channel) poke() {
	select {
	case ch.wake <- struct{}{}:
	default:
	}
}

// fail ends the channel with err, after the events already queued.
func (ch *Channel) fail(err error) {
	ch.mu.Lock()
	if !ch.over {
		ch.over, ch.err = true, err
	}
	ch.mu.Unlock()
	ch.credit.Close()
	ch.poke()
}

// Next waits for the next event. After the last one (Exit or End) it
// returns ErrChannelEnded; when the connection failed first, its error.
// Taking output grants the agent credit for more.
func (ch *Channel) Next(ctx context.Context) (Event, error) {
	for {
		ch.mu.Lock()
		if len(ch.events) > 0 {
			ev := ch.events[0]
			ch.events = ch.events[1:]
			// The grant counts before it goes out, so the agent can never
			// use it before the host allows it.
			n := ch.grants.Consumed(int64(len(ev.Stdout) + len(ev.Stderr)))
			ch.allowed += n
			ch.mu.Unlock()
			if n > 0 {
				_ = ch.m.send(agentproto.Frame{Ch: ch.id, Credit: n})
			}
			return ev, nil
		}
		over, err := ch.over, ch.err
		ch.mu.Unlock()
		if over {
			if err != nil {
				return Event{}, err
			}
			return Event{}, ErrChannelEnded
		}
		select {
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case <-ch.wake:
		}
	}
}

// PID is the guest process an Exec started; 0 when the command was not
// found, or the agent predates reporting it.
func (ch *Channel) PID() int { return ch.pid }

// Write sends p as standard input, waiting for credit as needed.
func (ch *Channel) Write(p []byte) (int, error) {
	sent := 0
	for sent < len(p) {
		n, err := ch.credit.Take(context.Background(), int64(min(len(p)-sent, agentproto.MaxChunk)))
		if err != nil {
			return sent, ch.closedError()
		}
		n = min(n, int64(len(p)-sent))
		if err := ch.m.send(agentproto.Frame{Ch: ch.id, In: p[sent : sent+int(n)]}); err != nil {
			return sent, err
		}
		sent += int(n)
	}
	return sent, nil
}

func (ch *Channel) closedError() error {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.err != nil {
		return ch.err
	}
	return ErrChannelEnded
}

// CloseWrite ends the standard input.
func (ch *Channel) CloseWrite() error {
	return ch.m.send(agentproto.Frame{Ch: ch.id, EOF: true})
}

// Resize tells the guest the terminal's new size.
func (ch *Channel) Resize(rows, cols uint16) error {
	return ch.m.send(agentproto.Frame{Ch: ch.id, Size: &agentproto.WindowSize{Rows: rows, Cols: cols}})
}

// Signal sends a signal ("INT", "TERM") to the process group.
func (ch *Channel) Signal(sig string) error {
	return ch.m.send(agentproto.Frame{Ch: ch.id, Sig: sig})
}

// Close abandons the channel: an exec's process is hung up (a kept one,
// ExecSpec.Keep, runs on), an attached client detaches. After the last event it only releases the channel.
func (ch *Channel) Close() error {
	ch.mu.Lock()
	over := ch.over
	ch.over = true
	ch.mu.Unlock()
	ch.credit.Close()
	ch.m.forget(ch.id)
	ch.poke()
	if over {
		return nil
	}
	return ch.m.send(agentproto.Frame{Ch: ch.id, End: true})
}
