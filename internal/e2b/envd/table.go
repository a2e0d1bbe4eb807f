package envd

import (
	"context"
	"slices"
	"sync"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	pb "banger/internal/e2b/envd/pb/process"
	"banger/internal/errdefs"
)

// execer runs and re-attaches to processes in a guest; *agentclient.Mux
// is one.
type execer interface {
	Exec(ctx context.Context, spec agentproto.ExecSpec) (*agentclient.Channel, error)
	ExecAttach(ctx context.Context, pid int) (*agentclient.Channel, agentproto.ProcessInfo, error)
	ExecList(ctx context.Context) ([]agentproto.ProcessInfo, error)
}

// channel is the host's end of a running process; *agentclient.Channel
// is one.
type channel interface {
	Next(ctx context.Context) (agentclient.Event, error)
	Write(p []byte) (int, error)
	CloseWrite() error
	Resize(rows, cols uint16) error
	Signal(sig string) error
	Close() error
}

// table holds one sandbox's processes by pid: those followed over the
// agent link, and those whose link was lost (detached), which the guest
// keeps until they are attached again.
type table struct {
	vm string
	s  *Server

	mu    sync.Mutex
	procs map[uint32]*proc
}

func newTable(s *Server, vm string) *table {
	return &table{vm: vm, s: s, procs: map[uint32]*proc{}}
}

func (t *table) add(p *proc) {
	t.mu.Lock()
	t.procs[p.pid] = p
	t.mu.Unlock()
}

func (t *table) remove(p *proc) {
	t.mu.Lock()
	if t.procs[p.pid] == p {
		delete(t.procs, p.pid)
	}
	t.mu.Unlock()
}

func (t *table) get(pid uint32) *proc {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.procs[pid]
}

// find is the process sel names: by pid, or the newest with sel's tag.
func (t *table) find(sel *pb.ProcessSelector) (*proc, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch s := sel.GetSelector().(type) {
	case *pb.ProcessSelector_Pid:
		if p := t.procs[s.Pid]; p != nil {
			return p, nil
		}
		return nil, errdefs.NotFound("process with pid %d not found: it has ended or never ran in this sandbox", s.Pid)
	case *pb.ProcessSelector_Tag:
		var found *proc
		for _, p := range t.procs {
			if p.tag != nil && *p.tag == s.Tag && (found == nil || p.pid > found.pid) {
				found = p
			}
		}
		if found != nil {
			return found, nil
		}
		return nil, errdefs.NotFound("process with tag %q not found: it has ended or never ran in this sandbox", s.Tag)
	}
	return nil, errdefs.InvalidArgument("no process selected: give a pid or a tag")
}

// list describes the processes running, by pid: those the guest lists
// as running when running is not nil, else all. A detached process that
// the guest no longer runs, and that no stream waits on, ended while
// nobody followed it: it is forgotten.
func (t *table) list(running map[uint32]bool) []*pb.ProcessInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*pb.ProcessInfo, 0, len(t.procs))
	for pid, p := range t.procs {
		switch {
		case running == nil || running[pid] || !p.agentPID:
			out = append(out, p.info())
		case p.current() == nil && !p.followed():
			delete(t.procs, pid)
		}
	}
	slices.SortFunc(out, func(a, b *pb.ProcessInfo) int { return int(a.Pid) - int(b.Pid) })
	return out
}

// closeAll kills every followed process and forgets them all, as when the
// sandbox goes.
func (t *table) closeAll() {
	t.mu.Lock()
	procs := make([]*proc, 0, len(t.procs))
	for _, p := range t.procs {
		procs = append(procs, p)
	}
	t.procs = map[uint32]*proc{}
	t.mu.Unlock()
	for _, p := range procs {
		if ch := p.current(); ch != nil {
			ch.Signal("KILL")
			ch.Close()
		}
	}
}
