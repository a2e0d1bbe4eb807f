package agentproto

import (
	"context"
	"errors"
	"math"
	"sync"
)

// ErrChannelClosed reports a channel that ended while a sender waited.
var ErrChannelClosed = errors.New("channel closed")

// Credit is a sender's side of a channel's flow control: how many bytes it
// may still send. It starts at InitialCredit; the receiver's Credit frames
// add to it.
type Credit struct {
	mu      sync.Mutex
	n       int64
	closed  bool
	changed chan struct{} // closed and replaced whenever n grows or Close is called
}

// NewCredit returns a credit of InitialCredit bytes.
func NewCredit() *Credit {
	return &Credit{n: InitialCredit, changed: make(chan struct{})}
}

// Add grants n more bytes. The total saturates rather than wrapping: a
// peer that grants absurd amounts must not turn the credit negative and
// stall the sender.
func (c *Credit) Add(n int64) {
	if n <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n > math.MaxInt64-n {
		c.n = math.MaxInt64
	} else {
		c.n += n
	}
	c.wake()
}

// Close wakes and fails every Take, now and later.
func (c *Credit) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		c.wake()
	}
}

func (c *Credit) wake() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Take waits until some credit is left and takes up to max bytes of it,
// returning how many. It fails when ctx ends or the credit is closed.
func (c *Credit) Take(ctx context.Context, max int64) (int64, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return 0, ErrChannelClosed
		}
		if c.n > 0 {
			n := min(c.n, max)
			c.n -= n
			c.mu.Unlock()
			return n, nil
		}
		wait := c.changed
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-wait:
		}
	}
}

// Grants is a receiver's side of flow control: it counts the bytes the
// consumer has taken and says when to grant them back, in batches of half
// the initial credit so that credit frames stay few.
type Grants struct {
	mu       sync.Mutex
	consumed int64
}

// Consumed records n bytes taken by the consumer and returns how many to
// grant now: 0 until half the initial credit has built up.
func (g *Grants) Consumed(n int64) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.consumed += n
	if g.consumed < InitialCredit/2 {
		return 0
	}
	out := g.consumed
	g.consumed = 0
	return out
}
