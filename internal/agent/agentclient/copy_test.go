package agentclient_test

import (
	"errors"
	"testing"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

func TestCopyOnAnAgentFromBeforeCopies(t *testing.T) {
	m, g := upgraded(t)
	done := make(chan error, 1)
	go func() {
		_, err := m.CopyOut(testCtx(t), "/etc/hosts")
		done <- err
	}()
	req := g.read()
	if req.Op != agentproto.OpCopyOut || req.Path != "/etc/hosts" {
		t.Fatalf("copy-out sent %+v", req.Request)
	}
	g.write(agentproto.Response{V: 2, ID: req.ID, Code: agentproto.CodeUnknownOp, Error: `unknown op "copy-out"`})
	err := <-done
	if !errors.Is(err, agentclient.ErrNoCopy) || !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Fatalf("copy-out on an old agent = %v; want ErrNoCopy, failed precondition", err)
	}
}
