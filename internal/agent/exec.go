package agent

import (
	"errors"
	"sync"

	"banger/internal/agent/agentproto"
)

// exec runs a command for the host on the request's channel: its input
// comes from the host, its output goes back, and its exit status ends the
// channel. A host that abandons the channel hangs the command up, unless
// the request asked to keep it (kept.go).
func (sc *streamConn) exec(req agentproto.Request) {
	if req.Exec == nil {
		sc.send(failure(req, agentproto.CodeBadRequest, "exec without a command"))
		return
	}
	spec, err := sc.s.command(*req.Exec)
	if err != nil {
		sc.send(failure(req, agentproto.ErrorCode(err), err.Error()))
		return
	}
	ch := sc.open(req.ID)
	p, err := startProcess(spec, false)
	if nc, ok := errors.AsType[*errNoCommand](err); ok {
		// As a shell reports it: a message on stderr and status 126 or 127.
		if sc.send(success(req, agentproto.Response{})) == nil {
			ch.write([]byte("banger: "+nc.Error()+"\n"), true)
		}
		ch.finish(agentproto.Frame{Exit: &agentproto.ExitStatus{Code: nc.status}})
		return
	}
	if err != nil {
		sc.forget(req.ID)
		sc.send(failure(req, agentproto.CodeFailed, err.Error()))
		return
	}
	if req.Exec.Keep {
		sc.execKept(req, ch, p, *req.Exec)
		return
	}
	ch.onControl(func(f agentproto.Frame) {
		if f.Size != nil {
			p.resize(*f.Size)
		}
		ch.signalFrame(f, p.signal)
	})
	// The answer goes first: no frame of a channel may come before it.
	// Until the pumps start, the process's output waits in its pipes.
	answered := sc.send(success(req, agentproto.Response{PID: p.pid()})) == nil
	pipeProcess(ch, p, answered)
}

// pipeProcess joins a started process to its channel: its output goes to the
// host, the host's input to it (once answered), and its exit, or the
// channel's end, finishes both.
func pipeProcess(ch *channel, p *process, answered bool) {
	var outputs sync.WaitGroup
	emit := func(stderr bool) func([]byte) {
		// Once the channel is over the output is read and dropped, so
		// the process never blocks on a full pipe.
		return func(b []byte) { _ = ch.write(b, stderr) }
	}
	outputs.Go(func() { copyOutput(p.stdout, emit(false)) })
	if p.stderr != nil {
		outputs.Go(func() { copyOutput(p.stderr, emit(true)) })
	}
	if answered {
		go ch.pumpInput(p.stdin, p.endInput)
	}
	select {
	case <-p.exited:
		outputs.Wait()
		p.close()
		ch.finish(agentproto.Frame{Exit: &p.status})
	case <-ch.ctx.Done():
		ch.finish(agentproto.Frame{})
		go func() {
			p.hangup()
			outputs.Wait()
			p.close()
		}()
	}
}
