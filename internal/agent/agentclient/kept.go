package agentclient

import (
	"context"
	"errors"

	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

// ErrNoExecKeep is the error of ExecList and ExecAttach on an agent from
// before kept processes; it is of kind failed precondition. Such an agent
// ignores ExecSpec.Keep: its processes end with their channel.
var ErrNoExecKeep = errors.New("the VM's guest agent predates keeping processes across reconnects: rebuild the VM's image (banger image pull) and make the VM again")

// ExecList lists the guest's kept processes (started with ExecSpec.Keep
// and not yet collected), oldest first.
func (m *Mux) ExecList(ctx context.Context) ([]agentproto.ProcessInfo, error) {
	resp, err := m.Call(ctx, agentproto.Request{Op: agentproto.OpExecList})
	if err != nil {
		return nil, keepError(resp, err)
	}
	if resp.Processes == nil {
		return []agentproto.ProcessInfo{}, nil
	}
	return resp.Processes, nil
}

// ExecAttach opens a channel onto the kept process pid, as Exec's: the
// output kept while nobody followed it, then its live output, and its
// exit status when it ends (at once when it has; the guest then forgets
// it). It takes the process over from any channel attached before, which
// ends with End. Closing the channel leaves the process running, kept.
func (m *Mux) ExecAttach(ctx context.Context, pid int) (*Channel, agentproto.ProcessInfo, error) {
	ch, resp, err := m.Open(ctx, agentproto.Request{Op: agentproto.OpExecAttach, PID: pid})
	if err != nil {
		return nil, agentproto.ProcessInfo{}, keepError(resp, err)
	}
	ch.pid = pid
	if resp.Process == nil {
		ch.Close()
		return nil, agentproto.ProcessInfo{}, errors.New("agent exec-attach: answer without the process")
	}
	return ch, *resp.Process, nil
}

// keepError says an agent that does not know the kept-process ops is too
// old.
func keepError(resp agentproto.Response, err error) error {
	if resp.Code == agentproto.CodeUnknownOp {
		return errdefs.Wrap(errdefs.KindFailedPrecondition, ErrNoExecKeep)
	}
	return err
}
