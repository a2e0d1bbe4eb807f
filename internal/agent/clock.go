package agent

import (
	"time"

	"banger/internal/agent/agentproto"
)

// setClockAnswer sets the guest's clock to the time the host sent, for a
// guest resumed from a suspend.
func (s *Server) setClockAnswer(req agentproto.Request) agentproto.Response {
	if req.Identity == nil || req.Identity.TimeUnixNano <= 0 {
		return failure(req, agentproto.CodeBadRequest, "set-clock without a time")
	}
	if s.opts.SetClock == nil {
		return failure(req, agentproto.CodeFailed, "this agent cannot set the guest's clock")
	}
	if err := s.opts.SetClock(time.Unix(0, req.Identity.TimeUnixNano)); err != nil {
		s.log.Error("set-clock", "err", err)
		return failure(req, agentproto.CodeFailed, "setting the clock: "+err.Error())
	}
	return success(req, agentproto.Response{})
}

// setGuestClock is Options.SetClock on a real guest.
func setGuestClock(t time.Time) error { return setClock(t.UnixNano()) }
