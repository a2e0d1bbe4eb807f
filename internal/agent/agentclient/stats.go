package agentclient

import (
	"context"
	"errors"

	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

// ErrNoStats is the answer of a guest agent from before the stats op.
var ErrNoStats = errors.New("the guest agent predates vm stats: rebuild the VM's image (banger image pull) and make the VM again")

// Stats asks the agent for the guest's resource use, bounded as
// agentproto.Stats.Bounded says. An agent from before the stats op gives
// ErrNoStats, of kind failed precondition.
func (m *Mux) Stats(ctx context.Context) (agentproto.Stats, error) {
	resp, err := m.Call(ctx, agentproto.Request{Op: agentproto.OpStats})
	if err != nil {
		if resp.Code == agentproto.CodeUnknownOp {
			return agentproto.Stats{}, errdefs.Wrap(errdefs.KindFailedPrecondition, ErrNoStats)
		}
		return agentproto.Stats{}, err
	}
	if resp.Stats == nil {
		return agentproto.Stats{}, errors.New("agent stats: answer without stats")
	}
	return resp.Stats.Bounded(), nil
}
