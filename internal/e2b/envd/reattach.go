package envd

import (
	"context"
	"errors"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	pb "banger/internal/e2b/envd/pb/process"
	"banger/internal/errdefs"
)

// Processes are started kept (agentproto.ExecSpec.Keep): when the agent
// link goes (the sandbox paused, the guest's agent restarted, bangerd
// restarted), the guest keeps them, and the table keeps their entries,
// detached. The next call that needs one attaches to it again by pid over
// the VM's current link; streams that followed it go on when that happens
// soon enough. One that ended meanwhile with no stream following it is
// gone, as a process that ends unfollowed on a link that stayed is.

// rejoinWait is how long a detached process's followers wait for its link
// to come back before their streams end with Unavailable.
var rejoinWait = 15 * time.Second

// attachTimeout bounds one attempt to attach again.
const attachTimeout = 10 * time.Second

// live is the channel the process is followed on, attached again when
// the process is detached.
func (p *proc) live(ctx context.Context) (channel, error) {
	return p.liveFor(ctx, nil)
}

// liveFor is live for a caller that follows the process with own (nil
// for none). A process found ended when attached again is gone, as one
// that ends while nobody follows it is, unless streams other than own
// followed it across the lost link: they get its end.
func (p *proc) liveFor(ctx context.Context, own *sub) (channel, error) {
	if ch := p.current(); ch != nil {
		return ch, nil
	}
	p.amu.Lock()
	defer p.amu.Unlock()
	p.mu.Lock()
	ch, ended := p.ch, p.ended
	p.mu.Unlock()
	switch {
	case ch != nil:
		return ch, nil
	case ended:
		return nil, errdefs.NotFound("process %d has ended", p.pid)
	}
	ex, err := p.t.s.execer(ctx, p.t.vm)
	if err != nil {
		return nil, err
	}
	c, info, err := ex.ExecAttach(ctx, int(p.pid))
	if err != nil {
		if k := errdefs.KindOf(err); k == errdefs.KindNotFound || k == errdefs.KindFailedPrecondition && errors.Is(err, agentclient.ErrNoExecKeep) {
			p.finish(endEvent(nil, errdefs.Unavailable("the guest no longer has it: %v", err)))
			return nil, errdefs.NotFound("process %d is gone: %v", p.pid, err)
		}
		return nil, err
	}
	if !info.Running && !p.followedBesides(own) {
		p.drop(c)
		return nil, errdefs.NotFound("process %d has ended: it ended while nobody followed it", p.pid)
	}
	p.t.s.log.Debug("e2b process attached again", "vm", p.t.vm, "pid", p.pid)
	p.follow(c)
	return c, nil
}

// followedBesides says whether a stream other than own follows the
// process.
func (p *proc) followedBesides(own *sub) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, mine := p.subs[own]
	if mine {
		return len(p.subs) > 1
	}
	return len(p.subs) > 0
}

// drop forgets a process that ended while nobody followed it, attached
// again on c: its streams end with NotFound, and c is read to the exit,
// so that the guest forgets it too.
func (p *proc) drop(c channel) {
	p.t.remove(p)
	p.mu.Lock()
	subs := p.subs
	p.ended, p.subs = true, nil
	p.mu.Unlock()
	for s := range subs {
		s.cut(errdefs.NotFound("process %d has ended", p.pid))
	}
	p.t.s.log.Debug("e2b process ended unfollowed", "vm", p.t.vm, "pid", p.pid)
	go func() {
		defer c.Close()
		for {
			ev, err := c.Next(context.Background())
			if err != nil || ev.Exit != nil || ev.End {
				return
			}
		}
	}()
}

// detached is the end of the channel of attach gen without an exit: the
// process goes on in the guest, kept, unless the host numbered it.
func (p *proc) detached(gen int, err error) {
	if !p.agentPID {
		p.finish(endEvent(nil, lostError(err)))
		return
	}
	p.mu.Lock()
	if p.gen != gen {
		p.mu.Unlock()
		return // attached again meanwhile
	}
	p.ch = nil
	p.mu.Unlock()
	p.t.s.log.Debug("e2b process detached", "vm", p.t.vm, "pid", p.pid, "err", err)
	p.rejoin()
}

// lostError is why a channel ended without an exit status.
func lostError(err error) error {
	if err == nil {
		return errdefs.Unavailable("the guest agent ended the process's channel")
	}
	return err
}

// rejoin attaches a detached process again while streams follow it, until
// it is attached, nobody follows it any more or rejoinWait passes; then
// the streams end with Unavailable, for the client to connect again.
func (p *proc) rejoin() {
	deadline := time.Now().Add(rejoinWait)
	delay := 50 * time.Millisecond
	for p.followed() {
		ctx, cancel := context.WithTimeout(context.Background(), attachTimeout)
		_, err := p.live(ctx)
		cancel()
		if err == nil || errdefs.KindOf(err) == errdefs.KindNotFound {
			return
		}
		if errdefs.KindOf(err) == errdefs.KindFailedPrecondition || time.Now().After(deadline) {
			p.cut(errdefs.Unavailable("process %d: the link to the sandbox's guest went (%v); it runs on in the guest: connect to it again once the sandbox runs", p.pid, err))
			return
		}
		time.Sleep(delay)
		delay = min(2*delay, time.Second)
	}
}

// lookup is the process sel names in vm's table; one the table does not
// have is looked for among those the guest keeps (bangerd restarted).
func (s *Server) lookup(ctx context.Context, vm string, sel *pb.ProcessSelector) (*proc, error) {
	t := s.table(vm)
	p, err := t.find(sel)
	if errdefs.KindOf(err) != errdefs.KindNotFound {
		return p, err
	}
	if _, aerr := s.adopt(ctx, t); aerr != nil {
		return nil, err
	}
	return t.find(sel)
}

// list is the sandbox's running processes: the table's, as the guest
// sees them, and those the guest keeps that the table did not know.
func (s *Server) list(ctx context.Context, vm string) ([]*pb.ProcessInfo, error) {
	t := s.table(vm)
	running, err := s.adopt(ctx, t)
	if errors.Is(err, agentclient.ErrNoExecKeep) {
		return t.list(nil), nil
	}
	if err != nil {
		return nil, err
	}
	return t.list(running), nil
}

// adopt asks the guest for its kept processes, adds the running ones t
// lacks as detached entries, and returns the pids of those running.
func (s *Server) adopt(ctx context.Context, t *table) (map[uint32]bool, error) {
	ex, err := s.execer(ctx, t.vm)
	if err != nil {
		return nil, err
	}
	kept, err := ex.ExecList(ctx)
	if err != nil {
		return nil, err
	}
	running := map[uint32]bool{}
	for _, info := range kept {
		pid := uint32(max(info.PID, 0))
		if !info.Running {
			continue // ended unfollowed: gone
		}
		running[pid] = true
		if pid != 0 && t.get(pid) == nil {
			t.add(adopted(t, info))
		}
	}
	return running, nil
}

// adopted is a table entry for a process the guest kept.
func adopted(t *table, info agentproto.ProcessInfo) *proc {
	cfg := &pb.ProcessConfig{}
	if len(info.Argv) > 0 {
		cfg.Cmd, cfg.Args = info.Argv[0], info.Argv[1:]
	}
	if info.Dir != "" {
		cfg.Cwd = &info.Dir
	}
	p := &proc{pid: uint32(info.PID), config: cfg, pty: info.TTY, stdin: true, t: t, agentPID: true, subs: map[*sub]struct{}{}}
	if info.Tag != "" {
		p.tag = &info.Tag
	}
	return p
}
