package agentclient_test

import (
	"errors"
	"testing"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/errdefs"
)

func TestKeptOpsOnAnOldAgent(t *testing.T) {
	m, g := upgraded(t)
	for _, call := range []func() error{
		func() error { _, err := m.ExecList(testCtx(t)); return err },
		func() error { _, _, err := m.ExecAttach(testCtx(t), 42); return err },
	} {
		done := make(chan error, 1)
		go func() { done <- call() }()
		req := g.read()
		g.write(agentproto.Response{V: 2, ID: req.ID, Code: agentproto.CodeUnknownOp, Error: "unknown op " + req.Op})
		if err := <-done; !errors.Is(err, agentclient.ErrNoExecKeep) || !errors.Is(err, errdefs.ErrFailedPrecondition) {
			t.Errorf("%s on an old agent = %v; want ErrNoExecKeep, failed precondition", req.Op, err)
		}
	}
}

func TestExecAttachAsksByPIDAndCarriesIt(t *testing.T) {
	m, g := upgraded(t)
	type attached struct {
		ch   *agentclient.Channel
		info agentproto.ProcessInfo
		err  error
	}
	done := make(chan attached, 1)
	go func() {
		ch, info, err := m.ExecAttach(testCtx(t), 77)
		done <- attached{ch, info, err}
	}()
	req := g.read()
	if req.Op != agentproto.OpExecAttach || req.PID != 77 {
		t.Fatalf("request = %+v; want exec-attach of pid 77", req.Request)
	}
	info := agentproto.ProcessInfo{PID: 77, Argv: []string{"sleep", "9"}, Running: true}
	g.write(agentproto.Response{V: 2, ID: req.ID, OK: true, PID: 77, Process: &info})
	g.write(agentproto.Frame{Ch: req.ID, Out: []byte("kept\n")})
	a := <-done
	if a.err != nil || a.ch.PID() != 77 || a.info.Argv[0] != "sleep" || !a.info.Running {
		t.Fatalf("ExecAttach = %+v, %v", a.info, a.err)
	}
	if ev, err := a.ch.Next(testCtx(t)); err != nil || string(ev.Stdout) != "kept\n" {
		t.Errorf("first event %+v, %v; want the kept output", ev, err)
	}
}

func TestExecListOfNone(t *testing.T) {
	m, g := upgraded(t)
	done := make(chan error, 1)
	var got []agentproto.ProcessInfo
	go func() {
		var err error
		got, err = m.ExecList(testCtx(t))
		done <- err
	}()
	req := g.read()
	g.write(agentproto.Response{V: 2, ID: req.ID, OK: true})
	if err := <-done; err != nil || got == nil || len(got) != 0 {
		t.Errorf("ExecList of none = %#v, %v; want an empty list", got, err)
	}
}
