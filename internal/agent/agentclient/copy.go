package agentclient

import (
	"context"
	"errors"

	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

// ErrNoCopy is the error of CopyIn and CopyOut on an agent from before
// them; it is of kind failed precondition.
var ErrNoCopy = errors.New("the VM's guest agent predates vm cp: rebuild the VM's image (banger image pull) and make the VM again; meanwhile `tar c SRC | banger vm exec NAME -- tar x -C DIR` copies files in")

// CopyIn opens a channel whose input, a tar stream (see package tarcopy),
// the agent extracts at the guest path dest. It ends with an exit status:
// 0, or one of agentproto's Copy codes after a message on Stderr.
func (m *Mux) CopyIn(ctx context.Context, dest string) (*Channel, error) {
	return m.openCopy(ctx, agentproto.OpCopyIn, dest)
}

// CopyOut opens a channel whose output is the guest path src as a tar
// stream, ending as CopyIn's does.
func (m *Mux) CopyOut(ctx context.Context, src string) (*Channel, error) {
	return m.openCopy(ctx, agentproto.OpCopyOut, src)
}

func (m *Mux) openCopy(ctx context.Context, op, path string) (*Channel, error) {
	ch, resp, err := m.Open(ctx, agentproto.Request{Op: op, Path: path})
	if err != nil && resp.Code == agentproto.CodeUnknownOp {
		return nil, errdefs.Wrap(errdefs.KindFailedPrecondition, ErrNoCopy)
	}
	return ch, err
}
