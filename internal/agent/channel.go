package agent

import (
	"context"
	"io"
	"sync"

	"golang.org/x/sys/unix"

	"banger/internal/agent/agentproto"
)

// channel is the guest's end of one channel: it sends output within the
// host's credit and buffers the host's input for whoever consumes it.
type channel struct {
	id     uint64
	sc     *streamConn
	ctx    context.Context // ends when the host abandons the channel, or with the connection
	cancel context.CancelFunc
	credit *agentproto.Credit

	mu       sync.Mutex
	in       []byte // input not yet consumed; the host's credit bounds it
	inEOF    bool
	inWake   chan struct{} // a token whenever in or inEOF changes
	grants   agentproto.Grants
	control  func(agentproto.Frame) // handles Size and Sig; set before the answer is sent
	finished bool
}

// deliver takes one frame from the host.
func (ch *channel) deliver(f agentproto.Frame) {
	ch.credit.Add(f.Credit)
	if len(f.In) > 0 || f.EOF {
		ch.mu.Lock()
		ch.in = append(ch.in, f.In...)
		ch.inEOF = ch.inEOF || f.EOF
		ch.mu.Unlock()
		select {
		case ch.inWake <- struct{}{}:
		default:
		}
	}
	if f.Size != nil || f.Sig != "" {
		ch.mu.Lock()
		control := ch.control
		ch.mu.Unlock()
		if control != nil {
			control(f)
		}
	}
	if f.End {
		ch.cancel()
	}
}

// onControl sets what handles the host's window sizes and signals.
func (ch *channel) onControl(fn func(agentproto.Frame)) {
	ch.mu.Lock()
	ch.control = fn
	ch.mu.Unlock()
}

// write sends p as output (Err when stderr), waiting for credit. It fails
// once the channel is over.
func (ch *channel) write(p []byte, stderr bool) error {
	_, err := ch.writeSome(p, stderr)
	return err
}

// writeSome is write that also says how many bytes of p went out.
func (ch *channel) writeSome(p []byte, stderr bool) (int, error) {
	sent := 0
	for sent < len(p) {
		n, err := ch.credit.Take(ch.ctx, int64(min(len(p)-sent, agentproto.MaxChunk)))
		if err != nil {
			return sent, err
		}
		f := agentproto.Frame{Ch: ch.id}
		if stderr {
			f.Err = p[sent : sent+int(n)]
		} else {
			f.Out = p[sent : sent+int(n)]
		}
		if err := ch.sc.send(f); err != nil {
			return sent, err
		}
		sent += int(n)
	}
	return sent, nil
}

// pumpInput writes the host's input to w as it comes, granting the host
// credit as w takes it, until the channel ends. At the end of the input
// it calls eof, if set.
func (ch *channel) pumpInput(w io.Writer, eof func()) {
	for {
		ch.mu.Lock()
		data, atEOF := ch.in, ch.inEOF
		ch.in = nil
		ch.mu.Unlock()
		if len(data) > 0 {
			if _, err := w.Write(data); err != nil {
				return // the process is gone or stopped reading
			}
			if n := ch.grants.Consumed(int64(len(data))); n > 0 {
				if ch.sc.send(agentproto.Frame{Ch: ch.id, Credit: n}) != nil {
					return
				}
			}
			continue
		}
		if atEOF {
			if eof != nil {
				eof()
			}
			return
		}
		select {
		case <-ch.ctx.Done():
			return
		case <-ch.inWake:
		}
	}
}

// finish sends the channel's last frame, unless the host abandoned it, and
// forgets the channel.
func (ch *channel) finish(last agentproto.Frame) {
	ch.mu.Lock()
	done := ch.finished
	ch.finished = true
	ch.mu.Unlock()
	if done {
		return
	}
	if ch.ctx.Err() == nil {
		last.Ch = ch.id
		ch.sc.send(last)
	}
	ch.sc.forget(ch.id)
	ch.cancel()
}

// finishWritten is finish that waits for the last frame to be written
// and reports whether it was: a kept process's exit status is collected
// only when it reached the host's stream.
func (ch *channel) finishWritten(last agentproto.Frame) bool {
	ch.mu.Lock()
	done := ch.finished
	ch.finished = true
	ch.mu.Unlock()
	if done {
		return false
	}
	defer ch.cancel()
	defer ch.sc.forget(ch.id)
	if ch.ctx.Err() != nil {
		return false
	}
	last.Ch = ch.id
	written, err := ch.sc.sendDone(last)
	if err != nil {
		return false
	}
	select {
	case <-written:
		return true
	case <-ch.sc.ctx.Done():
		return false
	}
}

// signalFrame applies a frame's signal through kill, reporting a bad one
// in the agent's log.
func (ch *channel) signalFrame(f agentproto.Frame, kill func(unix.Signal) error) {
	if f.Sig == "" {
		return
	}
	sig, err := agentproto.ParseSignal(f.Sig)
	if err == nil {
		err = kill(sig)
	}
	if err != nil {
		ch.sc.s.log.Info("signal from the host", "err", err)
	}
}
