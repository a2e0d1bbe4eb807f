package envd

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	pb "banger/internal/e2b/envd/pb/process"
	"banger/internal/errdefs"
)

// maxQueued bounds what one stream may have waiting to be sent: a client
// that reads slower than its process writes is cut off past it rather
// than holding the host's memory or the process.
const maxQueued = 32 << 20

// proc is one process started through the API, running in the guest
// whether or not a client follows it.
type proc struct {
	pid    uint32
	tag    *string
	config *pb.ProcessConfig
	pty    bool
	stdin  bool
	t      *table
	// agentPID: pid is the guest's, so the guest keeps the process when
	// the link goes and it can be attached again; else the host numbered
	// it, for an agent too old to say.
	agentPID bool

	wmu sync.Mutex // one input at a time, in order
	amu sync.Mutex // one re-attach at a time

	mu    sync.Mutex
	ch    channel // nil while detached: the link went, the guest keeps it
	gen   int     // counts attaches, so a pump knows its channel is old
	subs  map[*sub]struct{}
	ended bool
}

// current is the channel the process is followed on, nil while detached.
func (p *proc) current() channel {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ch
}

// follow starts following the process on ch.
func (p *proc) follow(ch channel) {
	p.mu.Lock()
	p.ch = ch
	p.gen++
	gen := p.gen
	p.mu.Unlock()
	go p.pump(ch, gen)
}

func (p *proc) info() *pb.ProcessInfo {
	return &pb.ProcessInfo{Config: p.config, Pid: p.pid, Tag: p.tag}
}

// subscribe adds a follower of the process's events from now on; nil
// when the process has ended.
func (p *proc) subscribe() *sub {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return nil
	}
	s := &sub{wake: make(chan struct{}, 1)}
	p.subs[s] = struct{}{}
	return s
}

func (p *proc) unsubscribe(s *sub) {
	p.mu.Lock()
	delete(p.subs, s)
	p.mu.Unlock()
}

// followed says whether any stream follows the process.
func (p *proc) followed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.subs) > 0
}

// cut ends the streams that follow the process with err; the process
// goes on.
func (p *proc) cut(err error) {
	p.mu.Lock()
	subs := p.subs
	p.subs = map[*sub]struct{}{}
	p.mu.Unlock()
	for s := range subs {
		s.cut(err)
	}
}

// publish gives ev to every follower; an end event is the last.
func (p *proc) publish(ev *pb.ProcessEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, last := ev.Event.(*pb.ProcessEvent_End)
	for s := range p.subs {
		s.push(ev, last)
	}
	if last {
		p.ended = true
		p.subs = nil
	}
}

// pump reads the process's channel ch until it ends, handing its output
// to the followers. The exit ends the process; a channel that ends
// without one (the link went, or another host attached) detaches it.
func (p *proc) pump(ch channel, gen int) {
	for {
		ev, err := ch.Next(context.Background())
		switch {
		case err == nil && ev.Stdout != nil:
			p.publish(p.dataEvent(ev.Stdout, false))
		case err == nil && ev.Stderr != nil:
			p.publish(p.dataEvent(ev.Stderr, true))
		case err == nil && ev.Exit != nil:
			p.finish(endEvent(ev.Exit, nil))
			return
		case err == nil && !ev.End:
		default:
			ch.Close()
			p.detached(gen, err)
			return
		}
	}
}

// finish ends the process with its end event.
func (p *proc) finish(end *pb.ProcessEvent) {
	p.t.remove(p)
	p.publish(end)
}

func (p *proc) dataEvent(b []byte, stderr bool) *pb.ProcessEvent {
	d := &pb.ProcessEvent_DataEvent{}
	switch {
	case p.pty:
		d.Output = &pb.ProcessEvent_DataEvent_Pty{Pty: b}
	case stderr:
		d.Output = &pb.ProcessEvent_DataEvent_Stderr{Stderr: b}
	default:
		d.Output = &pb.ProcessEvent_DataEvent_Stdout{Stdout: b}
	}
	return &pb.ProcessEvent{Event: &pb.ProcessEvent_Data{Data: d}}
}

// endEvent says how a process ended, in the words of Go's os package
// ("exit status 3", "signal: killed"), as the SDK shows them.
func endEvent(st *agentproto.ExitStatus, err error) *pb.ProcessEvent {
	end := &pb.ProcessEvent_EndEvent{ExitCode: -1}
	switch {
	case err != nil && !errors.Is(err, agentclient.ErrChannelEnded):
		end.Status = "error"
		msg := fmt.Sprintf("lost the process: %v", err)
		end.Error = &msg
	case st == nil:
		end.Status = "ended"
	case st.Signal > 0:
		end.Status = "signal: " + unix.Signal(st.Signal).String()
		end.Error = &end.Status
	default:
		end.ExitCode, end.Exited = int32(st.Code), true
		end.Status = fmt.Sprintf("exit status %d", st.Code)
		if st.Code != 0 {
			end.Error = &end.Status
		}
	}
	return &pb.ProcessEvent{Event: &pb.ProcessEvent_End{End: end}}
}

// input writes b to the process's stdin or terminal.
func (p *proc) input(ctx context.Context, in *pb.ProcessInput) error {
	var b []byte
	switch v := in.GetInput().(type) {
	case *pb.ProcessInput_Stdin:
		if p.pty {
			return errdefs.InvalidArgument("process %d runs on a pty: send its input as pty input", p.pid)
		}
		if !p.stdin {
			return errdefs.FailedPrecondition("process %d was started without stdin: start it with stdin enabled to write to it", p.pid)
		}
		b = v.Stdin
	case *pb.ProcessInput_Pty:
		if !p.pty {
			return errdefs.InvalidArgument("process %d has no pty: send its input as stdin", p.pid)
		}
		b = v.Pty
	default:
		return errdefs.InvalidArgument("no input given: set stdin or pty")
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	ch, err := p.live(ctx)
	if err != nil {
		return err
	}
	if _, err := ch.Write(b); err != nil {
		return p.gone(err)
	}
	return nil
}

// gone is the error of acting on a process whose channel failed.
func (p *proc) gone(err error) error {
	if errors.Is(err, agentclient.ErrChannelEnded) {
		return errdefs.NotFound("process %d has ended", p.pid)
	}
	return fmt.Errorf("process %d: %w", p.pid, err)
}

// signals are the signals the API can send, by the agent's names.
var signals = map[pb.Signal]string{pb.Signal_SIGNAL_SIGTERM: "TERM", pb.Signal_SIGNAL_SIGKILL: "KILL"}

func (p *proc) signal(ctx context.Context, sig pb.Signal) error {
	name, ok := signals[sig]
	if !ok {
		return errdefs.InvalidArgument("signal %v cannot be sent: use SIGTERM or SIGKILL", sig)
	}
	ch, err := p.live(ctx)
	if err != nil {
		return err
	}
	if err := ch.Signal(name); err != nil {
		return p.gone(err)
	}
	return nil
}

// sub is one stream's queue of a process's events.
type sub struct {
	mu     sync.Mutex
	events []*pb.ProcessEvent
	size   int
	final  bool  // nothing follows what is queued
	err    error // why the stream was cut off
	wake   chan struct{}
}

func (s *sub) push(ev *pb.ProcessEvent, last bool) {
	s.mu.Lock()
	if !s.final {
		s.events = append(s.events, ev)
		s.size += len(ev.GetData().GetStdout()) + len(ev.GetData().GetStderr()) + len(ev.GetData().GetPty())
		s.final = last
		if s.size > maxQueued {
			s.events, s.final = nil, true
			s.err = errdefs.Unavailable("the client read the process's output too slowly; more than %d bytes waited; reconnect to follow it", maxQueued)
		}
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// cut ends the stream after what is queued, with err.
func (s *sub) cut(err error) {
	s.mu.Lock()
	if !s.final {
		s.final, s.err = true, err
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns what is queued, and whether the stream is over (with
// the error it ends with).
func (s *sub) take() ([]*pb.ProcessEvent, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	evs := s.events
	s.events, s.size = nil, 0
	return evs, s.final, s.err
}
