package agentclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"banger/internal/agent/agentproto"
	"banger/internal/ctxtime"
	"banger/internal/errdefs"
)

// helloAttempt is how long WaitReady waits for the answer to one hello
// before it says hello again on the same connection. A virtio-serial port
// loses what the host sends while the guest has it closed (an agent
// restarting, say), so one hello sent while the guest boots may never
// be read; the answers to earlier ones are skipped as stale.
var helloAttempt = 5 * time.Second

// maxWaitChunk caps one wait-ready request; WaitReady asks again while
// time remains, so a lost answer costs at most this long.
const maxWaitChunk = 30 * time.Second

// WaitReady reaches the agent at ep (retrying while the VM starts), says
// hello and waits until the guest is ready, until ctx ends. Give ctx a
// deadline: without one it waits as long as the guest is not ready. Its
// error says what it saw last: no socket, no answer from the agent, or the
// reason the guest is not ready, which comes with the guest's last status.
func WaitReady(ctx context.Context, ep Endpoint) (agentproto.Status, error) {
	start := time.Now()
	var st agentproto.Status
	for {
		var err error
		st, err = waitOnce(ctx, ep, st)
		if errors.Is(err, ErrNotReady) {
			waited := time.Since(start).Round(time.Millisecond)
			return st, errdefs.Wrap(errdefs.KindUnavailable, &notReadyError{fmt.Sprintf("not ready after %v: %s", waited, st.Reason)})
		}
		if err == nil || ended(ctx, err) || errdefs.KindOf(err) != errdefs.KindUnavailable {
			return st, err
		}
		// The connection broke (the agent restarted, say): start again.
		if !ctxtime.Sleep(ctx, 100*time.Millisecond) {
			return st, err
		}
	}
}

// waitOnce is one connection's worth of WaitReady. st is the status seen
// so far, returned when nothing newer comes.
func waitOnce(ctx context.Context, ep Endpoint, st agentproto.Status) (agentproto.Status, error) {
	c, err := Dial(ctx, ep)
	if err != nil {
		return st, err
	}
	defer c.Close()
	if err := helloPatiently(ctx, c); err != nil {
		if errdefs.KindOf(err) != errdefs.KindUnavailable {
			return st, err
		}
		return st, errdefs.Wrap(errdefs.KindUnavailable, fmt.Errorf("no answer from the agent at %s (is banger-vsock-agent running in the guest?): %w", ep, err))
	}
	var notReady error
	for {
		got, err := c.WaitReady(ctx, waitChunk(ctx))
		switch {
		case err == nil:
			return got, nil
		case errors.Is(err, ErrNotReady):
			st, notReady = got, err
		case notReady != nil && ended(ctx, err):
			return st, notReady // time ran out asking again: the reason is still the news
		default:
			return st, err
		}
		if ctx.Err() != nil {
			return st, notReady
		}
	}
}

// helloPatiently says hello on c, again every helloAttempt, until the
// agent answers or ctx ends.
func helloPatiently(ctx context.Context, c *Conn) error {
	for {
		actx, cancel := context.WithTimeout(ctx, helloAttempt)
		_, err := c.Hello(actx)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
}

// waitChunk is how long the next wait-ready may take: what is left of
// ctx, less a margin for the answer to arrive, and at most maxWaitChunk.
func waitChunk(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return maxWaitChunk
	}
	left := time.Until(dl)
	return max(min(left-min(left/5, 2*time.Second), maxWaitChunk), 0)
}

// ended reports whether ctx is over, or err says it is: a stream's
// deadline, taken from ctx, can fire just before ctx itself ends.
func ended(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
