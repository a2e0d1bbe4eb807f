package mcp

import (
	"context"
	"errors"
	"sync"
	"time"

	"banger/internal/api"
	"banger/internal/api/client"
	"banger/internal/errdefs"
)

// endTimeout bounds the deletion of a session's sandboxes when it ends.
const endTimeout = 2 * time.Minute

// session is one MCP session's state: the sandboxes it made, and which
// of them outlive it.
type session struct {
	srv *Server
	id  string // the value of SessionLabel on its sandboxes

	mu    sync.Mutex
	made  map[string]bool // sandbox name -> keep
	ended bool
}

func newSession(s *Server) *session {
	return &session{srv: s, id: "mcp-" + randomHex(6), made: map[string]bool{}}
}

// add records a sandbox the session made. It refuses once the session
// has ended: the caller deletes the sandbox then.
func (st *session) add(name string, keep bool) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ended {
		return false
	}
	st.made[name] = keep
	return true
}

// forget drops a sandbox the session deleted.
func (st *session) forget(name string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.made, name)
}

// kept reports whether sandbox v outlives its session: this session's
// when it was made with keep, another's always.
func (st *session) kept(v api.VM) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	keep, ok := st.made[v.Name]
	return keep || !ok && v.Labels[SessionLabel] != st.id
}

// end deletes the sandboxes the session made and did not keep. It runs
// once; later calls do nothing.
func (st *session) end() {
	st.mu.Lock()
	if st.ended {
		st.mu.Unlock()
		return
	}
	st.ended = true
	var doomed []string
	for name, keep := range st.made {
		if !keep {
			doomed = append(doomed, name)
		}
	}
	st.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), endTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, name := range doomed {
		wg.Go(func() { st.deleteVM(ctx, name) })
	}
	wg.Wait()
}

// deleteVM deletes one of the session's sandboxes as it ends.
func (st *session) deleteVM(ctx context.Context, name string) {
	err := st.srv.call(ctx, func(c *client.Client) error { return c.DeleteVM(ctx, name, true) })
	if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		st.srv.log.Warn("mcp: deleting a session's sandbox", "session", st.id, "vm", name, "err", err)
		return
	}
	st.srv.log.Info("mcp: deleted a session's sandbox", "session", st.id, "vm", name)
}
