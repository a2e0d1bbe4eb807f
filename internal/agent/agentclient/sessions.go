package agentclient

import (
	"context"
	"errors"

	"banger/internal/agent/agentproto"
)

// Exec runs spec in the guest. The channel carries its output and ends
// with its exit status; a command that is not found ends with 127, as in a
// shell, after a message on its standard error. The channel's PID is the
// process's.
func (m *Mux) Exec(ctx context.Context, spec agentproto.ExecSpec) (*Channel, error) {
	ch, resp, err := m.Open(ctx, agentproto.Request{Op: agentproto.OpExec, Exec: &spec})
	if ch != nil {
		ch.pid = resp.PID
	}
	return ch, err
}

// StartSession starts spec as a session named name ("" lets the guest
// name it after the command).
func (m *Mux) StartSession(ctx context.Context, name string, spec agentproto.ExecSpec) (agentproto.SessionInfo, error) {
	resp, err := m.Call(ctx, agentproto.Request{Op: agentproto.OpSessionStart, Session: name, Exec: &spec})
	return sessionOf(resp, err)
}

// ListSessions lists the guest's sessions, oldest first.
func (m *Mux) ListSessions(ctx context.Context) ([]agentproto.SessionInfo, error) {
	resp, err := m.Call(ctx, agentproto.Request{Op: agentproto.OpSessionList})
	if err != nil {
		return nil, err
	}
	if resp.Sessions == nil {
		return []agentproto.SessionInfo{}, nil
	}
	return resp.Sessions, nil
}

// KillSession sends signal ("" for TERM) to a running session, or forgets
// an ended one.
func (m *Mux) KillSession(ctx context.Context, name, signal string) (agentproto.SessionInfo, error) {
	resp, err := m.Call(ctx, agentproto.Request{Op: agentproto.OpSessionKill, Session: name, Signal: signal})
	return sessionOf(resp, err)
}

// AttachSession joins a session: the channel carries what it writes from
// now on, takes input, sizes and signals, and ends with the session's exit
// status. Closing the channel detaches.
func (m *Mux) AttachSession(ctx context.Context, name string) (*Channel, agentproto.SessionInfo, error) {
	ch, resp, err := m.Open(ctx, agentproto.Request{Op: agentproto.OpSessionAttach, Session: name})
	info, err := sessionOf(resp, err)
	return ch, info, err
}

// SessionLogs sends the session's kept output on the channel, then, with
// follow, what it writes until it ends; the channel ends with End.
func (m *Mux) SessionLogs(ctx context.Context, name string, follow bool) (*Channel, agentproto.SessionInfo, error) {
	ch, resp, err := m.Open(ctx, agentproto.Request{Op: agentproto.OpSessionLogs, Session: name, Follow: follow})
	info, err := sessionOf(resp, err)
	return ch, info, err
}

func sessionOf(resp agentproto.Response, err error) (agentproto.SessionInfo, error) {
	if err != nil {
		return agentproto.SessionInfo{}, err
	}
	if resp.Session == nil {
		return agentproto.SessionInfo{}, errors.New("agent: answer without a session")
	}
	return *resp.Session, nil
}
