package agent

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"banger/internal/agent/agentproto"
)

// maxBatch bounds how many bytes of queued lines one write carries.
const maxBatch = 256 << 10

// hostLine is any line a host sends on a multiplexed connection: a request
// or, when Ch is set, a channel frame.
type hostLine struct {
	agentproto.Request
	agentproto.Frame
}

// streamConn is one host's multiplexed connection (protocol version 2
// with FeatureStreams): requests are served concurrently, and everything
// the guest sends goes through one writer, in order.
type streamConn struct {
	s      *Server
	c      Stream
	ctx    context.Context // ends with the connection
	cancel context.CancelCauseFunc
	queue  chan outLine
	wrote  chan struct{} // closed when the writer has stopped

	mu    sync.Mutex
	chans map[uint64]*channel
	work  sync.WaitGroup // request handlers and channel pumps
}

// outLine is one encoded line; done, when set, is closed once written.
type outLine struct {
	b    []byte
	done chan struct{}
}

// serveStreams serves a multiplexed connection on c, reading the lines
// session's reader delivers, until the connection ends (nil item, and the
// error that ended it, if any) or a hello shows that a new host took the
// stream over: that hello is returned for the caller to answer, once
// everything of the old host is gone from the stream.
func (s *Server) serveStreams(parent context.Context, c Stream, lines <-chan item) (*item, error) {
	sc := &streamConn{s: s, c: c, queue: make(chan outLine, 64), wrote: make(chan struct{}), chans: map[uint64]*channel{}}
	sc.ctx, sc.cancel = context.WithCancelCause(parent)
	go sc.writeLoop()
	defer sc.close()
	for {
		var it item
		select {
		case <-sc.ctx.Done():
			if we, ok := errors.AsType[*writeError](context.Cause(sc.ctx)); ok {
				return nil, we
			}
			return nil, sessionEnd(parent)
		case it = <-lines:
		}
		if it.err == nil && len(it.line) == 0 {
			continue
		}
		if it.err != nil {
			sc.send(failure(agentproto.Request{}, agentproto.CodeBadRequest, it.err.Error()))
			continue
		}
		var hl hostLine
		if err := json.Unmarshal(it.line, &hl); err != nil {
			sc.send(failure(agentproto.Request{}, agentproto.CodeBadRequest, "not a JSON line: "+err.Error()))
			continue
		}
		if hl.Ch != 0 {
			sc.frame(hl.Frame)
			continue
		}
		if hl.Op == agentproto.OpHello {
			return &it, nil
		}
		sc.work.Go(func() { sc.handle(it) })
	}
}

// close ends the connection: every channel is abandoned (an exec's
// process is hung up), the handlers finish, and the writer stops, so
// nothing of this host is written after close returns.
func (sc *streamConn) close() {
	sc.cancel(nil)
	sc.c.SetWriteDeadline(time.Unix(1, 0)) // cuts short a write in progress
	<-sc.wrote
	sc.work.Wait()
	sc.c.SetWriteDeadline(time.Time{})
}

// writeLoop writes queued lines, several at a time when they pile up.
func (sc *streamConn) writeLoop() {
	defer close(sc.wrote)
	var batch []byte
	var done []chan struct{}
	for {
		batch, done = batch[:0], done[:0]
		select {
		case <-sc.ctx.Done():
			return
		case l := <-sc.queue:
			batch, done = append(batch, l.b...), appendDone(done, l.done)
		}
	more:
		for len(batch) < maxBatch {
			select {
			case l := <-sc.queue:
				batch, done = append(batch, l.b...), appendDone(done, l.done)
			default:
				break more
			}
		}
		sc.c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if sc.ctx.Err() != nil {
			return // close may have set its deadline before ours
		}
		if _, err := sc.c.Write(batch); err != nil {
			sc.cancel(&writeError{err})
			return
		}
		for _, d := range done {
			close(d)
		}
	}
}

func appendDone(done []chan struct{}, d chan struct{}) []chan struct{} {
	if d != nil {
		return append(done, d)
	}
	return done
}

// send queues v as one line; it fails only when the connection is over.
func (sc *streamConn) send(v any) error {
	_, err := sc.sendDone(v)
	return err
}

// sendDone queues v and returns a channel closed once it is written.
func (sc *streamConn) sendDone(v any) (<-chan struct{}, error) {
	b, err := agentproto.MarshalLine(v)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	select {
	case sc.queue <- outLine{b, done}:
		return done, nil
	case <-sc.ctx.Done():
		return nil, context.Cause(sc.ctx)
	}
}

// handle answers one request.
func (sc *streamConn) handle(it item) {
	req, err := agentproto.ParseRequest(it.line)
	if err != nil {
		sc.send(failure(req, agentproto.ErrorCode(err), err.Error()))
		return
	}
	sc.s.log.Debug("request", "op", req.Op, "id", req.ID)
	switch req.Op {
	case agentproto.OpExec:
		sc.exec(req)
	case agentproto.OpSessionStart, agentproto.OpSessionList, agentproto.OpSessionKill:
		sc.send(sc.s.sessionOp(req))
	case agentproto.OpSessionAttach:
		sc.attach(req)
	case agentproto.OpSessionLogs:
		sc.logs(req)
	case agentproto.OpCopyIn:
		sc.copyIn(req)
	case agentproto.OpCopyOut:
		sc.copyOut(req)
	case agentproto.OpFSStat, agentproto.OpFSMkdir, agentproto.OpFSMove, agentproto.OpFSRemove:
		sc.send(sc.s.fsOp(req))
	case agentproto.OpFSList:
		sc.fsList(req)
	case agentproto.OpFSRead:
		sc.fsRead(req)
	case agentproto.OpFSWrite:
		sc.fsWrite(req)
	case agentproto.OpFSWatch:
		sc.fsWatch(req)
	case agentproto.OpExecList:
		sc.send(sc.s.keptList(req))
	case agentproto.OpExecAttach:
		sc.execAttach(req)
	default:
		resp, after := sc.s.answer(sc.ctx, it)
		done, err := sc.sendDone(resp)
		if err != nil || after == nil {
			return
		}
		select {
		case <-done:
			after()
		case <-sc.ctx.Done():
		}
	}
}

// frame hands a channel frame to its channel; frames of channels that are
// over (or never were) are dropped.
func (sc *streamConn) frame(f agentproto.Frame) {
	sc.mu.Lock()
	ch := sc.chans[f.Ch]
	sc.mu.Unlock()
	if ch != nil {
		ch.deliver(f)
	}
}

// open registers the channel of request id. It ends when the host
// abandons it, the connection ends, or its owner calls finish.
func (sc *streamConn) open(id uint64) *channel {
	ch := &channel{id: id, sc: sc, credit: agentproto.NewCredit(), inWake: make(chan struct{}, 1)}
	ch.ctx, ch.cancel = context.WithCancel(sc.ctx)
	context.AfterFunc(ch.ctx, ch.credit.Close)
	sc.mu.Lock()
	sc.chans[id] = ch
	sc.mu.Unlock()
	return ch
}

func (sc *streamConn) forget(id uint64) {
	sc.mu.Lock()
	delete(sc.chans, id)
	sc.mu.Unlock()
}
