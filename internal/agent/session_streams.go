package agent

import (
	"fmt"

	"banger/internal/agent/agentproto"
)

// attach joins a session on the request's channel: what the session
// writes from now on goes to the host, the host's input goes to the
// session, and the session's end ends the channel with its status. The
// host detaches by abandoning the channel; the session runs on.
func (sc *streamConn) attach(req agentproto.Request) {
	sess, err := sc.s.sessions.get(req.Session)
	if err != nil {
		sc.send(failure(req, agentproto.ErrorCode(err), err.Error()))
		return
	}
	ch := sc.open(req.ID)
	_, from := sess.out.bounds()
	if sess.running() {
		ch.onControl(func(f agentproto.Frame) {
			if f.Size != nil {
				sess.proc.resize(*f.Size)
			}
			ch.signalFrame(f, sess.proc.signal)
		})
	}
	info := sc.s.sessions.info(sess)
	if sc.send(success(req, agentproto.Response{Session: &info})) != nil {
		ch.finish(agentproto.Frame{})
		return
	}
	if sess.running() {
		// The end of an attached client's input is not the session's.
		go ch.pumpInput(sess.proc.stdin, nil)
	}
	if !sc.followRing(ch, sess.out, from, -1) {
		ch.finish(agentproto.Frame{})
		return
	}
	<-sess.done
	st := sess.proc.status
	ch.finish(agentproto.Frame{Exit: &st})
}

// logs sends a session's kept output on the request's channel, then, with
// Follow, what it writes until it ends.
func (sc *streamConn) logs(req agentproto.Request) {
	sess, err := sc.s.sessions.get(req.Session)
	if err != nil {
		sc.send(failure(req, agentproto.ErrorCode(err), err.Error()))
		return
	}
	ch := sc.open(req.ID)
	from, until := sess.out.bounds()
	if req.Follow {
		until = -1
	}
	info := sc.s.sessions.info(sess)
	if sc.send(success(req, agentproto.Response{Session: &info})) != nil {
		ch.finish(agentproto.Frame{})
		return
	}
	sc.followRing(ch, sess.out, from, until)
	ch.finish(agentproto.Frame{End: true})
}

// followRing sends r's bytes from offset off to the channel, up to until
// (or, when until is negative, until r is closed). It reports whether it
// got to the end; false means the channel ended first.
func (sc *streamConn) followRing(ch *channel, r *ring, off, until int64) bool {
	buf := make([]byte, agentproto.MaxChunk)
	for until < 0 || off < until {
		p := buf
		if until >= 0 {
			p = buf[:min(int64(len(buf)), until-off)]
		}
		res := r.read(off, p)
		if res.skipped > 0 {
			note := fmt.Sprintf("\r\n[banger: %d bytes of output were dropped: this client fell behind]\r\n", res.skipped)
			if ch.write([]byte(note), false) != nil {
				return false
			}
		}
		off = res.next
		if res.n > 0 {
			if ch.write(p[:res.n], false) != nil {
				return false
			}
			continue
		}
		if res.closed {
			return true
		}
		select {
		case <-ch.ctx.Done():
			return false
		case <-res.changed:
		}
	}
	return true
}
