package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"banger/internal/agent/agentproto"
	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/vm"
)

// listSessions reports the sessions of every running VM, or of the VM
// named by ?vm=. Sessions live in the guests' agents, so the daemon keeps
// nothing about them: a restarted daemon sees the same list.
func (g *guestAPI) listSessions(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var names []string
	if only := r.URL.Query().Get("vm"); only != "" {
		v, err := g.vms.Get(ctx, only)
		if err != nil {
			writeError(w, err)
			return
		}
		if v.State == vm.StateRunning {
			names = []string{only}
		}
	} else {
		vms, err := g.vms.List(ctx)
		if err != nil {
			writeError(w, err)
			return
		}
		for _, v := range vms {
			if v.State == vm.StateRunning {
				names = append(names, v.Name)
			}
		}
	}
	out := []api.Session{}
	for _, name := range names {
		list, err := g.vmSessions(ctx, name)
		if err != nil {
			if len(names) == 1 && !vm.IsOldAgent(err) {
				writeError(w, err)
				return
			}
			g.log.Info("listing sessions", "vm", name, "err", err)
			continue
		}
		out = append(out, list...)
	}
	writeJSON(w, http.StatusOK, out)
}

func (g *guestAPI) vmSessions(ctx context.Context, vm string) ([]api.Session, error) {
	m, err := g.guests.Agent(ctx, vm)
	if err != nil {
		return nil, err
	}
	list, err := m.ListSessions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.Session, 0, len(list))
	for _, info := range list {
		out = append(out, sessionToAPI(vm, info))
	}
	return out, nil
}

func (g *guestAPI) postStartSession(w http.ResponseWriter, r *http.Request) {
	var req api.StartSessionRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Name != "" {
		if err := agentproto.ValidateSessionName(req.Name); err != nil {
			writeError(w, errdefs.InvalidArgument("%v", err))
			return
		}
	}
	vm := r.PathValue("name")
	m, err := g.guests.Agent(r.Context(), vm)
	if err != nil {
		writeError(w, err)
		return
	}
	info, err := m.StartSession(r.Context(), req.Name, execSpec(req.ExecRequest))
	if err != nil {
		writeError(w, err)
		return
	}
	g.log.Info("session started", "vm", vm, "session", info.Name)
	writeJSON(w, http.StatusOK, sessionToAPI(vm, info))
}

func (g *guestAPI) postKillSession(w http.ResponseWriter, r *http.Request) {
	var req api.KillSessionRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	vm := r.PathValue("name")
	m, err := g.guests.Agent(r.Context(), vm)
	if err != nil {
		writeError(w, err)
		return
	}
	info, err := m.KillSession(r.Context(), r.PathValue("session"), req.Signal)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sessionToAPI(vm, info))
}

// postAttachSession joins a session over an upgraded connection.
func (g *guestAPI) postAttachSession(w http.ResponseWriter, r *http.Request) {
	var req api.AttachRequest
	m, ok := g.streamRequest(w, r, &req)
	if !ok {
		return
	}
	ch, _, err := m.AttachSession(r.Context(), r.PathValue("session"))
	if err != nil {
		writeError(w, err)
		return
	}
	if req.Rows > 0 && req.Cols > 0 {
		ch.Resize(req.Rows, req.Cols)
	}
	g.relay(w, ch)
}

// getSessionLogs sends a session's kept output as plain text; with
// follow=true it goes on until the session ends or the client hangs up.
func (g *guestAPI) getSessionLogs(w http.ResponseWriter, r *http.Request) {
	follow, _ := strconv.ParseBool(r.URL.Query().Get("follow"))
	m, err := g.guests.Agent(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	ch, _, err := m.SessionLogs(r.Context(), r.PathValue("session"), follow)
	if err != nil {
		writeError(w, err)
		return
	}
	defer ch.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	for {
		ev, err := ch.Next(r.Context())
		if err != nil {
			return // the end, the client leaving, or the guest going away
		}
		if _, err := w.Write(ev.Stdout); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}

func (g *guestAPI) getGuest(w http.ResponseWriter, r *http.Request) {
	info, err := g.guests.Guest(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, guestToAPI(info.Hello, info.Status, info.Streams))
}

func guestToAPI(h agentproto.Hello, st agentproto.Status, exec bool) api.GuestInfo {
	return api.GuestInfo{Agent: h.Agent, Protocol: h.Protocol, Exec: exec, Features: h.Features, SSH: st.SSH, Ready: st.Ready, Hostname: st.Hostname, Uptime: st.Uptime}
}

func sessionToAPI(vm string, info agentproto.SessionInfo) api.Session {
	out := api.Session{
		VM: vm, Name: info.Name, Command: shellQuote(info.Argv), Argv: info.Argv, TTY: info.TTY,
		PID: info.PID, Started: info.Started, Ended: info.Ended, Log: info.Log, State: api.SessionRunning,
	}
	if out.Argv == nil {
		out.Argv = []string{}
	}
	if !info.Running {
		out.State = api.SessionExited
		if info.Exit != nil {
			st := exitToAPI(*info.Exit)
			out.Exit = &st
		}
	}
	return out
}

// shellQuote joins argv as a shell would need it typed; a login shell
// (no argv) shows as such.
func shellQuote(argv []string) string {
	if len(argv) == 0 {
		return "(login shell)"
	}
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
