package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"banger/internal/agent/agentproto"
)

// writeTimeout bounds writing one answer: a host that stopped reading must
// not wedge the agent.
const writeTimeout = 10 * time.Second

// Stream is one host connection: a virtio-serial port, a vsock connection
// or, in tests, a pipe. *os.File and net.Conn are Streams.
type Stream interface {
	io.ReadWriter
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// Server answers the host's requests on every channel it finds.
type Server struct {
	opts     Options
	log      *slog.Logger
	sessions *sessionTable
	kept     *keptTable
	once     identifyOnce
}

// NewServer returns a server with opts; see Options for what a zero field
// means.
func NewServer(opts Options) *Server {
	opts = opts.withDefaults()
	return &Server{opts: opts, log: opts.Logger, sessions: &sessionTable{
		byName: map[string]*session{}, dir: opts.SessionDir, ring: opts.SessionRing,
		logMax: opts.SessionLogMax, log: opts.Logger,
	}, kept: &keptTable{max: opts.KeepBuffer, byPID: map[int]*kept{}}}
}

// Serve sets up the channels opts name and serves them until ctx ends. It
// waits up to DeviceWait for the channels to appear and fails when none
// does, so that the service manager restarts the agent.
func (s *Server) Serve(ctx context.Context) error {
	var (
		wg        sync.WaitGroup
		port      string
		ln        *vsockListener
		serialErr error
		vsockErr  error
	)
	if s.opts.SerialPath != "" || s.opts.SerialName != "" {
		wg.Go(func() { port, serialErr = s.waitSerialPort(ctx) })
	}
	if s.opts.VsockPort != 0 {
		wg.Go(func() { ln, vsockErr = s.listenVsock(ctx) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		if ln != nil {
			ln.Close()
		}
		return nil
	}
	if port == "" && ln == nil {
		return fmt.Errorf("no channel to the host: %w", errors.Join(serialErr, vsockErr))
	}
	if port != "" {
		s.log.Info("serving on virtio-serial", "path", port)
		wg.Go(func() { s.serveSerial(ctx, port) })
	} else if serialErr != nil {
		s.log.Info("no virtio-serial channel", "err", serialErr)
	}
	if ln != nil {
		s.log.Info("serving on vsock", "port", s.opts.VsockPort)
		wg.Go(func() { s.serveVsock(ctx, ln) })
	} else if vsockErr != nil {
		s.log.Info("no vsock channel", "err", vsockErr)
	}
	wg.Wait()
	return nil
}

// ServeConn answers requests on c until the host goes away (end of
// stream, nil error), reading fails, writing fails or ctx ends. It does not
// close c.
func (s *Server) ServeConn(ctx context.Context, c Stream) error {
	return s.session(ctx, c, newStreamReader(c), false)
}

// item is one line read from the host, or the line-too-long error.
type item struct {
	line []byte
	err  error
}

// session serves one host connection. With resync it sends a newline
// before its first answer, ending any half line an earlier session or
// agent left in the stream.
func (s *Server) session(parent context.Context, c Stream, sr *streamReader, resync bool) error {
	// The reader ends the session, cancelling ctx, when the host goes away:
	// that also abandons a wait-ready nobody is waiting for any more.
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	lines := make(chan item)
	done := make(chan struct{})
	go func() {
		defer close(done)
		cancel(sr.readLines(ctx, lines))
	}()
	// Every way out stops the reader, so the next session on the same
	// stream has it to itself.
	defer func() {
		cancel(nil)
		if c.SetReadDeadline(time.Unix(1, 0)) == nil {
			<-done
			c.SetReadDeadline(time.Time{})
		}
	}()
	var next *item // a hello that ended a multiplexed connection
	for {
		var it item
		if next != nil {
			it, next = *next, nil
		} else {
			select {
			case <-ctx.Done():
				return sessionEnd(ctx)
			case it = <-lines:
			}
		}
		if it.err == nil && len(it.line) == 0 {
			continue
		}
		resp, after := s.answer(ctx, it)
		if ctx.Err() != nil {
			return sessionEnd(ctx) // nobody is waiting for the answer any more
		}
		if err := s.write(c, resp, resync); err != nil {
			return &writeError{err}
		}
		resync = false
		if after != nil {
			after()
		}
		if resp.Hello != nil && slices.Contains(resp.Hello.Features, agentproto.FeatureStreams) {
			var err error
			if next, err = s.serveStreams(ctx, c, lines); next == nil {
				return err
			}
			// A new host took the stream over; what the old one left
			// half written ends before the answer.
			resync = true
		}
	}
}

// readError is why reading from the host stopped.
type readError struct{ err error }

func (e *readError) Error() string { return "reading from the host: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// sessionEnd says why a session's context ended: nil when the host went
// away or the server is stopping, the read error otherwise.
func sessionEnd(ctx context.Context) error {
	re, ok := errors.AsType[*readError](context.Cause(ctx))
	if !ok || errors.Is(re.err, io.EOF) {
		return nil
	}
	return re
}

// write sends one answer, bounded by writeTimeout.
func (s *Server) write(c Stream, resp agentproto.Response, resync bool) error {
	b, err := agentproto.MarshalLine(resp)
	if err != nil {
		return fmt.Errorf("encoding the answer: %w", err)
	}
	if resync {
		b = append([]byte{'\n'}, b...)
	}
	c.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := c.Write(b); err != nil {
		return fmt.Errorf("answering the host: %w", err)
	}
	return nil
}

// writeError marks a session that ended because an answer could not be
// written.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }
