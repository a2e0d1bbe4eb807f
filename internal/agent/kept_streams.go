package agent

import (
	"banger/internal/agent/agentproto"
)

// execKept serves an exec that asked to keep its process: p is kept, and
// the request's channel follows it until the process ends or the channel
// does; then the process waits for a host to attach again.
func (sc *streamConn) execKept(req agentproto.Request, ch *channel, p *process, spec agentproto.ExecSpec) {
	k := sc.s.kept.add(p, spec)
	ch.onControl(keptControl(ch, k))
	if sc.send(success(req, agentproto.Response{PID: p.pid()})) != nil {
		ch.finish(agentproto.Frame{})
		return
	}
	sc.s.log.Debug("kept process started", "pid", p.pid())
	sc.follow(ch, k)
}

// execAttach opens the request's channel onto a kept process.
func (sc *streamConn) execAttach(req agentproto.Request) {
	k, err := sc.s.kept.get(req.PID)
	if err != nil {
		sc.send(failure(req, agentproto.ErrorCode(err), err.Error()))
		return
	}
	ch := sc.open(req.ID)
	ch.onControl(keptControl(ch, k))
	info := k.describe()
	if sc.send(success(req, agentproto.Response{PID: info.PID, Process: &info})) != nil {
		ch.finish(agentproto.Frame{})
		return
	}
	sc.follow(ch, k)
}

// keptControl applies a channel's sizes and signals to k while it runs:
// once it has ended its pid may be another process's.
func keptControl(ch *channel, k *kept) func(agentproto.Frame) {
	return func(f agentproto.Frame) {
		if !k.running() {
			return
		}
		if f.Size != nil {
			k.proc.resize(*f.Size)
		}
		ch.signalFrame(f, k.proc.signal)
	}
}

// follow attaches ch to k: the host's input goes to the process, and its
// output to the host, until the process ends (its exit status ends the
// channel and is collected), another attach takes it over (the channel
// ends with End) or the channel goes.
func (sc *streamConn) follow(ch *channel, k *kept) {
	k.attach(ch)
	go ch.pumpInput(k.proc.stdin, k.proc.endInput)
	for {
		if ch.ctx.Err() != nil {
			k.detach(ch)
			ch.finish(agentproto.Frame{})
			return
		}
		k.mu.Lock()
		if k.att != ch {
			k.mu.Unlock()
			ch.finish(agentproto.Frame{End: true})
			return
		}
		b, stderr := k.next()
		ended, wait := k.ended, k.changed
		k.mu.Unlock()
		switch {
		case b != nil:
			n, err := ch.writeSome(b, stderr)
			if err != nil {
				k.unread(b[n:], stderr)
			}
			continue
		case ended:
			// Forgotten first, so that a host that has the exit never
			// finds it listed; kept again when it did not go out.
			st := k.proc.status
			sc.s.kept.collect(k)
			if !ch.finishWritten(agentproto.Frame{Exit: &st}) {
				sc.s.kept.restore(k)
				k.detach(ch)
			}
			return
		}
		select {
		case <-wait:
		case <-ch.ctx.Done():
		}
	}
}

// keptList answers exec-list.
func (s *Server) keptList(req agentproto.Request) agentproto.Response {
	return success(req, agentproto.Response{Processes: s.kept.list()})
}
