package agentclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

// muxWriteTimeout bounds one write to the agent: it reads all the time, so
// a write that takes longer means the guest is gone or wedged.
const muxWriteTimeout = 10 * time.Second

// ErrNoStreams is the error of Upgrade on an agent that predates
// FeatureStreams; the Conn is still usable for version 1 ops.
var ErrNoStreams = errors.New("the guest agent cannot run commands: it predates banger's exec and sessions; rebuild the VM's image (banger image pull) and make the VM again")

// Mux is a multiplexed connection to one agent (protocol version 2 with
// FeatureStreams). Any number of goroutines may send requests and use
// channels on it at once. One reader goroutine dispatches what the agent
// sends.
type Mux struct {
	s     Stream
	hello agentproto.Hello
	log   *slog.Logger

	wmu sync.Mutex // one line at a time on the stream

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan agentproto.Response
	chans   map[uint64]*Channel
	err     error         // why the connection ended
	done    chan struct{} // closed when it has
}

// guestLine is any line the agent sends on a multiplexed connection.
type guestLine struct {
	agentproto.Response
	agentproto.Frame
	Op string `json:"op"` // set only on an echoed request
}

// Option configures a Mux.
type Option func(*Mux)

// WithLogger has the Mux log what the guest does wrong (a channel that
// overran its credit) to log; by default it logs nothing.
func WithLogger(log *slog.Logger) Option {
	return func(m *Mux) { m.log = log }
}

// Upgrade asks the agent on c for a multiplexed connection. On success
// the Mux owns c's stream from then on; an agent too old for it gives
// ErrNoStreams (of kind failed precondition) and c stays as it was.
func Upgrade(ctx context.Context, c *Conn, opts ...Option) (*Mux, error) {
	resp, err := c.call(ctx, agentproto.Request{V: 2, Op: agentproto.OpHello, Features: []string{agentproto.FeatureStreams, agentproto.FeatureWriteAttrs}})
	if err != nil {
		if resp.Code == agentproto.CodeUnsupportedVersion {
			return nil, errdefs.Wrap(errdefs.KindFailedPrecondition, ErrNoStreams)
		}
		return nil, err
	}
	if resp.Hello == nil || !slices.Contains(resp.Hello.Features, agentproto.FeatureStreams) {
		return nil, errdefs.Wrap(errdefs.KindFailedPrecondition, ErrNoStreams)
	}
	m := newMux(c.s, *resp.Hello, c.nextID+1, opts)
	go m.read(c.br)
	return m, nil
}

func newMux(s Stream, hello agentproto.Hello, nextID uint64, opts []Option) *Mux {
	m := &Mux{
		s: s, hello: hello, nextID: nextID, log: slog.New(slog.DiscardHandler),
		pending: map[uint64]chan agentproto.Response{}, chans: map[uint64]*Channel{}, done: make(chan struct{}),
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Hello is the agent's answer to the upgrade.
func (m *Mux) Hello() agentproto.Hello { return m.hello }

// Has says whether the agent granted the optional feature (one of
// agentproto's Feature names) in its hello.
func (m *Mux) Has(feature string) bool { return slices.Contains(m.hello.Features, feature) }

// Done is closed when the connection has ended; Err then says why.
func (m *Mux) Done() <-chan struct{} { return m.done }

// Err is why the connection ended, or nil while it lasts.
func (m *Mux) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// Close ends the connection and every channel on it.
func (m *Mux) Close() error {
	err := m.s.Close()
	<-m.done
	return err
}

// read dispatches the agent's lines until the stream fails.
func (m *Mux) read(br *bufio.Reader) {
	var err error
	for {
		var b []byte
		b, err = agentproto.ReadLine(br)
		if errors.Is(err, agentproto.ErrLineTooLong) {
			continue
		}
		if err != nil {
			break
		}
		var l guestLine
		if len(b) == 0 || json.Unmarshal(b, &l) != nil || l.Op != "" {
			continue // an empty line, noise or an echo
		}
		if l.Ch != 0 {
			m.channel(l.Ch).deliver(l.Frame)
			continue
		}
		m.mu.Lock()
		reply := m.pending[l.ID]
		delete(m.pending, l.ID)
		m.mu.Unlock()
		if reply != nil {
			reply <- l.Response
		}
	}
	m.end(err)
}

// channel is the open channel id, or a stand-in that drops the frame.
func (m *Mux) channel(id uint64) *Channel {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ch := m.chans[id]; ch != nil {
		return ch
	}
	return &Channel{} // a late frame of a channel already closed
}

// end fails everything still waiting once the stream is gone.
func (m *Mux) end(err error) {
	m.s.Close()
	m.mu.Lock()
	m.err = errdefs.Unavailable("the connection to the guest agent closed (the guest may have stopped or restarted): %v", err)
	chans := m.chans
	m.chans, m.pending = map[uint64]*Channel{}, map[uint64]chan agentproto.Response{}
	m.mu.Unlock()
	for _, ch := range chans {
		ch.fail(m.err)
	}
	close(m.done)
}

// send writes one line.
func (m *Mux) send(v any) error {
	b, err := agentproto.MarshalLine(v)
	if err != nil {
		return err
	}
	m.wmu.Lock()
	defer m.wmu.Unlock()
	m.s.SetWriteDeadline(time.Now().Add(muxWriteTimeout))
	if _, err := m.s.Write(b); err != nil {
		m.s.Close() // a half-written line would garble the stream: end it
		return errdefs.Wrap(errdefs.KindUnavailable, fmt.Errorf("writing to the guest agent: %w", err))
	}
	return nil
}

// Call sends req and waits for its answer; a not-ok answer comes back as
// an error of the matching kind.
func (m *Mux) Call(ctx context.Context, req agentproto.Request) (agentproto.Response, error) {
	resp, err := m.roundTrip(ctx, &req, nil)
	if err != nil {
		return resp, err
	}
	if !resp.OK {
		return resp, answerError(req.Op, resp)
	}
	return resp, nil
}

// Open sends req, an op that opens a channel, and returns the channel
// with the answer.
func (m *Mux) Open(ctx context.Context, req agentproto.Request) (*Channel, agentproto.Response, error) {
	ch := newChannel(m)
	resp, err := m.roundTrip(ctx, &req, ch)
	if err == nil && !resp.OK {
		err = answerError(req.Op, resp)
	}
	if err != nil {
		m.forget(ch.id)
		return nil, resp, err
	}
	return ch, resp, nil
}

// roundTrip sends req with a fresh id and waits for the answer. A channel
// is registered under that id before the request goes out, so that no
// frame after the answer can miss it.
func (m *Mux) roundTrip(ctx context.Context, req *agentproto.Request, ch *Channel) (agentproto.Response, error) {
	reply := make(chan agentproto.Response, 1)
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		return agentproto.Response{}, m.err
	}
	m.nextID++
	req.V, req.ID = agentproto.Version, m.nextID
	m.pending[req.ID] = reply
	if ch != nil {
		ch.id = req.ID
		m.chans[req.ID] = ch
	}
	m.mu.Unlock()
	if err := m.send(req); err != nil {
		m.abandon(req.ID)
		return agentproto.Response{}, err
	}
	select {
	case resp := <-reply:
		return resp, nil
	case <-m.done:
		return agentproto.Response{}, m.Err()
	case <-ctx.Done():
		m.abandon(req.ID)
		return agentproto.Response{}, errdefs.Wrap(errdefs.KindUnavailable, fmt.Errorf("agent %s: %w", req.Op, ctx.Err()))
	}
}

// abandon stops waiting for an answer; a channel it opened is closed.
func (m *Mux) abandon(id uint64) {
	m.mu.Lock()
	delete(m.pending, id)
	_, open := m.chans[id]
	m.mu.Unlock()
	if open {
		m.forget(id)
		m.send(agentproto.Frame{Ch: id, End: true})
	}
}

func (m *Mux) forget(id uint64) {
	m.mu.Lock()
	delete(m.chans, id)
	m.mu.Unlock()
}

// Status asks for the guest's state now.
func (m *Mux) Status(ctx context.Context) (agentproto.Status, error) {
	resp, err := m.Call(ctx, agentproto.Request{Op: agentproto.OpStatus})
	if err != nil {
		return agentproto.Status{}, err
	}
	if resp.Status == nil {
		return agentproto.Status{}, errors.New("agent status: answer without status")
	}
	return *resp.Status, nil
}

// Shutdown asks the agent to power the guest off.
func (m *Mux) Shutdown(ctx context.Context) error {
	_, err := m.Call(ctx, agentproto.Request{Op: agentproto.OpShutdown})
	return err
}

// PrepareSnapshot asks the agent to ready the guest for a snapshot: its
// disks flushed, and an identity to take again after each restore. An
// agent from before snapshots answers with agentproto.CodeUnknownOp.
func (m *Mux) PrepareSnapshot(ctx context.Context) error {
	_, err := m.Call(ctx, agentproto.Request{Op: agentproto.OpPrepareSnapshot})
	return err
}
