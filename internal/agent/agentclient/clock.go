package agentclient

import (
	"context"
	"errors"
	"time"

	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

// ErrNoSetClock is the answer of a guest agent from before set-clock.
var ErrNoSetClock = errors.New("the guest agent predates set-clock, so the resumed guest's clock was not set: rebuild the VM's image (banger image pull) and make the VM again")

// SetClock sets the guest's wall clock to t. An agent from before the
// set-clock op gives ErrNoSetClock, of kind failed precondition.
func (c *Conn) SetClock(ctx context.Context, t time.Time) error {
	resp, err := c.call(ctx, agentproto.Request{Op: agentproto.OpSetClock, Identity: &agentproto.Identity{TimeUnixNano: t.UnixNano()}})
	if err != nil && resp.Code == agentproto.CodeUnknownOp {
		return errdefs.Wrap(errdefs.KindFailedPrecondition, ErrNoSetClock)
	}
	return err
}
