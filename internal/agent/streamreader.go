package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync/atomic"
	"time"

	"banger/internal/agent/agentproto"
	"banger/internal/ctxtime"
)

// streamReader reads a stream's lines for one session after another. A
// session that ends (its host left, or a write failed) may have read a
// line already, such as the hello of the host that comes next on a
// virtio-serial port; it stays here, with whatever else was buffered, for
// the next session rather than being lost.
type streamReader struct {
	br      *bufio.Reader
	pending []item
	port    *serialPort // nil unless the stream is a virtio-serial port
}

func newStreamReader(c io.Reader) *streamReader {
	return &streamReader{br: bufio.NewReaderSize(c, 4096)}
}

// newSerialReader reads a virtio-serial port, where an end of stream does
// not end a multiplexed connection (see serialPort); poll is the pause
// before reading again after one.
func newSerialReader(port io.Reader, poll time.Duration) *streamReader {
	p := &serialPort{r: port, poll: poll}
	sr := newStreamReader(p)
	sr.port = p
	return sr
}

// readLines sends the stream's lines to out until reading fails, which it
// returns, or ctx ends. Only one session's readLines runs at a time, and
// the session is over when it returns.
func (sr *streamReader) readLines(ctx context.Context, out chan<- item) error {
	if sr.port != nil {
		sr.port.ctx = ctx
		// The next session starts as every connection does, plain.
		defer sr.port.streams.Store(false)
	}
	for {
		var it item
		if len(sr.pending) > 0 {
			it, sr.pending = sr.pending[0], sr.pending[1:]
		} else {
			line, err := agentproto.ReadLine(sr.br)
			if err != nil && !errors.Is(err, agentproto.ErrLineTooLong) {
				return &readError{err}
			}
			it = item{line, err}
		}
		if sr.port != nil && it.err == nil {
			if hello, streams := helloLine(it.line); hello {
				sr.port.streams.Store(streams)
			}
		}
		select {
		case out <- it:
		case <-ctx.Done():
			sr.pending = append([]item{it}, sr.pending...)
			return nil
		}
	}
}

// helloLine says whether line is a hello, as a session takes it, and
// whether the session answers it with a multiplexed connection.
func helloLine(line []byte) (hello, streams bool) {
	if !bytes.Contains(line, []byte(`"`+agentproto.OpHello+`"`)) {
		return false, false // cheap: most lines are not
	}
	var hl hostLine
	if json.Unmarshal(line, &hl) != nil || hl.Ch != 0 || hl.Op != agentproto.OpHello {
		return false, false
	}
	req, err := agentproto.ParseRequest(line)
	return true, err == nil && grantsStreams(req)
}

// serialPort is a virtio-serial port as a session reads it. The port
// reads as end of stream while no host is connected, but also, for a
// moment, when a host closes it and the next one opens it at once: the
// guest learns of the close and the open apart from the data, and may
// read the new host's first lines before it learns that the old host
// left. Such a late end of stream must not end the new host's multiplexed
// connection, so while the stream is multiplexed an end of stream only
// pauses reading. The next line says which host it comes from: a hello
// is a new host (every host connection starts with a newline and a
// hello), anything else is more from the same one.
//
// So when a multiplexed host really leaves, its channels (and the
// processes of its execs) stay until the next host says hello, or until
// an answer to it cannot be written within writeTimeout.
type serialPort struct {
	r    io.Reader
	poll time.Duration
	ctx  context.Context // the reading session's, set by readLines
	// streams: the last hello read gets a multiplexed connection.
	streams atomic.Bool
}

func (p *serialPort) Read(b []byte) (int, error) {
	for {
		n, err := p.r.Read(b)
		if n > 0 || !errors.Is(err, io.EOF) || !p.streams.Load() {
			return n, err
		}
		if !ctxtime.Sleep(p.ctx, p.poll) {
			return 0, p.ctx.Err()
		}
	}
}
