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

	mu     sync.Mutex
	events []Event
	over   bool  // the last event is queued
	err    error // the connection failed first
	grants agentproto.Grants
	wake   chan struct{} // a token when events or err change
}

// deliver queues one frame from the agent.
func (ch *Channel) deliver(f agentproto.Frame) {
	if ch.m == nil {
		return
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
		ch.events = append(ch.events, ev)
		ch.over = ev.Exit != nil || ev.End
	}
	ch.mu.Unlock()
	if ev.Exit != nil || ev.End {
		ch.m.forget(ch.id)
		ch.credit.Close()
	}
	ch.poke()
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
			ch.mu.Unlock()
			if n := ch.grants.Consumed(int64(len(ev.Stdout) + len(ev.Stderr))); n > 0 {
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

// Close abandons the channel: an exec's process is hung up, an attached
// client detaches. After the last event it only releases the channel.
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
