package vm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"banger/internal/agent/agentclient"
	"banger/internal/errdefs"
	"banger/internal/keylock"
	"banger/internal/store"
	"banger/internal/vmm"
)

// agentDialTimeout bounds reaching a running guest's agent.
const agentDialTimeout = 10 * time.Second

// agentLinks is the daemon's one connection per running VM to its guest
// agent, multiplexed, shared by every exec, session and status call (see
// docs/adr/0007-agent-exec-and-sessions.md). A virtio-serial channel
// carries one host connection at a time, so nothing else in the daemon
// may hold a connection to a guest that has a link: the boot's readiness
// wait happens before any link exists, and stop goes through
// poweroff.
type agentLinks struct {
	store  *store.Store
	layout *layout
	log    *slog.Logger

	mu    sync.Mutex
	links map[string]*agentLink // by VM name
	dial  keylock.Map           // one dial per VM at a time
}

type agentLink struct {
	vid string // the VM the link was made for: a new VM of the same name gets its own
	mux *agentclient.Mux
}

func (l *agentLinks) get(name, vid string) *agentclient.Mux {
	l.mu.Lock()
	defer l.mu.Unlock()
	if k := l.links[name]; k != nil && k.vid == vid && k.mux.Err() == nil {
		return k.mux
	}
	return nil
}

func (l *agentLinks) put(name, vid string, mux *agentclient.Mux) {
	l.mu.Lock()
	if l.links == nil {
		l.links = map[string]*agentLink{}
	}
	old := l.links[name]
	link := &agentLink{vid: vid, mux: mux}
	l.links[name] = link
	l.mu.Unlock()
	if old != nil {
		old.mux.Close()
	}
	go func() {
		<-mux.Done()
		l.mu.Lock()
		if l.links[name] == link {
			delete(l.links, name)
		}
		l.mu.Unlock()
	}()
}

// take removes and returns VM name's link, if it has one.
func (l *agentLinks) take(name string) *agentclient.Mux {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.links[name]
	delete(l.links, name)
	if k == nil {
		return nil
	}
	return k.mux
}

// running is VM name, if it is running; the error says how to start it.
func (l *agentLinks) running(ctx context.Context, name string) (store.VM, error) {
	v, err := l.store.GetVM(ctx, name)
	if err != nil {
		return v, err
	}
	if v.State != StateRunning {
		return v, errdefs.FailedPrecondition("VM %s is %s: start it with `banger vm start %s`", name, v.State, name)
	}
	return v, nil
}

// Agent is the link to running VM name's agent, made when there is
// none. An agent too old for exec and sessions gives an error wrapping
// agentclient.ErrNoStreams.
func (m *Manager) Agent(ctx context.Context, name string) (*agentclient.Mux, error) {
	return m.agents.agent(ctx, name)
}

func (l *agentLinks) agent(ctx context.Context, name string) (*agentclient.Mux, error) {
	v, err := l.running(ctx, name)
	if err != nil {
		return nil, err
	}
	if mux := l.get(name, v.VID); mux != nil {
		return mux, nil
	}
	defer l.dial.Lock(name)()
	if mux := l.get(name, v.VID); mux != nil {
		return mux, nil // another request made it meanwhile
	}
	c, err := l.dialAgent(ctx, v)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, agentDialTimeout)
	defer cancel()
	mux, err := agentclient.Upgrade(dctx, c, agentclient.WithLogger(l.log.With("vm", name)))
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("VM %s: %w", name, err)
	}
	l.put(name, v.VID, mux)
	l.log.Info("connected to the guest agent", "vm", name, "agent", mux.Hello().Agent)
	return mux, nil
}

// dialAgent opens a plain connection to v's agent.
func (l *agentLinks) dialAgent(ctx context.Context, v store.VM) (*agentclient.Conn, error) {
	drv, err := l.layout.driver(v.VMM)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, agentDialTimeout)
	defer cancel()
	c, err := agentclient.Dial(dctx, agentEndpoint(drv, l.layout.runSpec(v)))
	if err != nil {
		return nil, fmt.Errorf("VM %s: %w", v.Name, err)
	}
	return c, nil
}

// poweroff asks the guest agent to power the guest off: over
// the VM's link when it has one (a second connection would wait behind it
// on a virtio-serial channel), else over a connection of its own. The
// link is closed either way.
func (l *agentLinks) poweroff(ctx context.Context, name string, drv vmm.Driver, spec vmm.Spec) {
	if mux := l.take(name); mux != nil {
		sctx, cancel := context.WithTimeout(ctx, agentShutdownWait)
		err := mux.Shutdown(sctx)
		cancel()
		mux.Close()
		if err == nil {
			return
		}
	}
	askAgentPoweroff(ctx, drv, spec)
}

// IsOldAgent reports an agent that predates exec and sessions.
func IsOldAgent(err error) bool { return errors.Is(err, agentclient.ErrNoStreams) }
