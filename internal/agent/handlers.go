package agent

import (
	"context"
	"fmt"
	"slices"
	"time"

	"banger/internal/agent/agentproto"
	"banger/internal/version"
)

// streamOps need a multiplexed connection.
var streamOps = map[string]bool{
	agentproto.OpExec: true, agentproto.OpSessionStart: true, agentproto.OpSessionList: true,
	agentproto.OpSessionAttach: true, agentproto.OpSessionLogs: true, agentproto.OpSessionKill: true,
	agentproto.OpCopyIn: true, agentproto.OpCopyOut: true,
	agentproto.OpFSStat: true, agentproto.OpFSList: true, agentproto.OpFSMkdir: true, agentproto.OpFSMove: true,
	agentproto.OpFSRemove: true, agentproto.OpFSRead: true, agentproto.OpFSWrite: true, agentproto.OpFSWatch: true,
	agentproto.OpExecList: true, agentproto.OpExecAttach: true,
}

// maxWait caps a wait-ready, whatever the host asks for.
const maxWait = 10 * time.Minute

// answer handles one line. The function it may return runs once the answer
// is written (shutdown uses it to power off only after saying so).
func (s *Server) answer(ctx context.Context, it item) (agentproto.Response, func()) {
	if it.err != nil {
		return failure(agentproto.Request{}, agentproto.CodeBadRequest, it.err.Error()), nil
	}
	req, err := agentproto.ParseRequest(it.line)
	if err != nil {
		s.log.Debug("bad request", "err", err)
		return failure(req, agentproto.ErrorCode(err), err.Error()), nil
	}
	s.log.Debug("request", "op", req.Op, "id", req.ID)
	switch req.Op {
	case agentproto.OpHello:
		return s.hello(req), nil
	case agentproto.OpStatus:
		st := s.status()
		return success(req, agentproto.Response{Status: &st}), nil
	case agentproto.OpWaitReady:
		return s.waitReady(ctx, req), nil
	case agentproto.OpShutdown:
		return s.shutdown(req)
	case agentproto.OpIdentify:
		return s.identify(ctx, req), nil
	case agentproto.OpPrepareSnapshot:
		return s.prepareSnapshot(req), nil
	case agentproto.OpSetClock:
		return s.setClockAnswer(req), nil
	case agentproto.OpStats:
		return s.statsAnswer(req), nil
	}
	if streamOps[req.Op] {
		return failure(req, agentproto.CodeBadRequest, fmt.Sprintf("op %q needs a connection with the %s feature: say hello at version 2 first", req.Op, agentproto.FeatureStreams)), nil
	}
	return failure(req, agentproto.CodeUnknownOp, fmt.Sprintf("unknown op %q: this agent (version %s) knows hello, status, stats, wait-ready, shutdown, identify, prepare-snapshot, exec, exec-list, exec-attach, the session ops, copy-in, copy-out and the fs- file ops; update the guest image", req.Op, version.Version)), nil
}

// hello says who answers. A version 2 hello that asks for streams gets
// them: the connection is multiplexed from the next line on; one that
// also asks for fs-write's mode and time gets those too.
func (s *Server) hello(req agentproto.Request) agentproto.Response {
	h := &agentproto.Hello{
		Agent:    version.Version,
		Protocol: agentproto.Version,
		Hostname: s.opts.Hostname(),
		BootID:   s.bootID(),
	}
	if grantsStreams(req) {
		h.Features = []string{agentproto.FeatureStreams}
		if slices.Contains(req.Features, agentproto.FeatureWriteAttrs) {
			h.Features = append(h.Features, agentproto.FeatureWriteAttrs)
		}
	}
	return success(req, agentproto.Response{Hello: h})
}

// grantsStreams says whether a valid hello gets a multiplexed connection.
func grantsStreams(req agentproto.Request) bool {
	return req.V >= 2 && slices.Contains(req.Features, agentproto.FeatureStreams)
}

// waitReady answers once the guest is ready, or when the request's timeout
// passes, with what is still missing.
func (s *Server) waitReady(ctx context.Context, req agentproto.Request) agentproto.Response {
	timeout := min(req.Timeout(), maxWait)
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(s.opts.PollInterval)
	defer tick.Stop()
	for {
		st := s.status()
		if st.Ready {
			return success(req, agentproto.Response{Status: &st})
		}
		if !time.Now().Before(deadline) {
			resp := failure(req, agentproto.CodeNotReady, "not ready: "+st.Reason)
			resp.Status = &st
			return resp
		}
		select {
		case <-ctx.Done():
			return failure(req, agentproto.CodeFailed, "the agent is stopping")
		case <-tick.C:
		}
	}
}

// shutdown answers, then powers off.
func (s *Server) shutdown(req agentproto.Request) (agentproto.Response, func()) {
	if s.opts.Poweroff == nil {
		return failure(req, agentproto.CodeFailed, "this agent cannot power the guest off"), nil
	}
	return success(req, agentproto.Response{}), func() {
		s.log.Info("powering off at the host's request")
		if err := s.opts.Poweroff(); err != nil {
			s.log.Error("powering off", "err", err)
		}
	}
}

func success(req agentproto.Request, r agentproto.Response) agentproto.Response {
	r.V, r.ID, r.OK = replyVersion(req), req.ID, true
	return r
}

func failure(req agentproto.Request, code, msg string) agentproto.Response {
	return agentproto.Response{V: replyVersion(req), ID: req.ID, Code: code, Error: msg}
}

// replyVersion answers in the request's version when the agent speaks it,
// else in its own highest.
func replyVersion(req agentproto.Request) int {
	if req.V >= 1 && req.V <= agentproto.Version {
		return req.V
	}
	return agentproto.Version
}
