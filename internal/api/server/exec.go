package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"banger/internal/agent/agentclient"
	"banger/internal/agent/agentproto"
	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/version"
)

// guestAPI serves the routes that reach into running guests through
// their agents: exec, sessions and the guest's own report.
type guestAPI struct {
	vms    VMs
	guests Guests
	log    *slog.Logger
}

// routes adds the routes of exec and sessions.
func (g *guestAPI) routes(mux *http.ServeMux) {
	p := api.Prefix
	mux.HandleFunc("POST "+p+"/vms/{name}/exec", g.postExec)
	mux.HandleFunc("GET "+p+"/vms/{name}/guest", g.getGuest)
	mux.HandleFunc("GET "+p+"/sessions", g.listSessions)
	mux.HandleFunc("POST "+p+"/vms/{name}/sessions", g.postStartSession)
	mux.HandleFunc("POST "+p+"/vms/{name}/sessions/{session}/attach", g.postAttachSession)
	mux.HandleFunc("GET "+p+"/vms/{name}/sessions/{session}/logs", g.getSessionLogs)
	mux.HandleFunc("POST "+p+"/vms/{name}/sessions/{session}/kill", g.postKillSession)
	g.copyRoutes(mux)
	g.fileRoutes(mux)
	g.statsRoutes(mux)
}

// streamRequest starts a request that upgrades to a stream: it checks
// the upgrade, decodes the body into req and finds the VM's agent link.
// It reports false when it has answered with an error.
func (g *guestAPI) streamRequest(w http.ResponseWriter, r *http.Request, req any) (*agentclient.Mux, bool) {
	if err := wantsUpgrade(r); err != nil {
		writeError(w, err)
		return nil, false
	}
	if err := decode(r, req); err != nil {
		writeError(w, err)
		return nil, false
	}
	m, err := g.guests.Agent(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return nil, false
	}
	return m, true
}

// postExec runs a command through the guest agent and relays its streams
// over the upgraded connection.
func (g *guestAPI) postExec(w http.ResponseWriter, r *http.Request) {
	var req api.ExecRequest
	m, ok := g.streamRequest(w, r, &req)
	if !ok {
		return
	}
	ch, err := m.Exec(r.Context(), execSpec(req))
	if err != nil {
		writeError(w, err)
		return
	}
	g.relay(w, ch)
}

func execSpec(req api.ExecRequest) agentproto.ExecSpec {
	spec := agentproto.ExecSpec{Argv: req.Command, Env: req.Env, Dir: req.Dir, TTY: req.TTY, Term: req.Term}
	if req.Rows > 0 && req.Cols > 0 {
		spec.Size = &agentproto.WindowSize{Rows: req.Rows, Cols: req.Cols}
	}
	return spec
}

// wantsUpgrade checks that a request asks for api.UpgradeProtocol.
func wantsUpgrade(r *http.Request) error {
	if !strings.EqualFold(r.Header.Get("Upgrade"), api.UpgradeProtocol) || !headerHasToken(r.Header, "Connection", "upgrade") {
		return errdefs.InvalidArgument("this route streams: send Connection: Upgrade and Upgrade: %s", api.UpgradeProtocol)
	}
	return nil
}

func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// relay switches the connection to frames and carries them between the
// client and the channel until the command ends, the client hangs up
// (which abandons the channel: an exec is hung up, an attach detaches) or
// the guest goes away.
func (g *guestAPI) relay(w http.ResponseWriter, ch *agentclient.Channel) {
	conn, brw, err := upgradeConn(w)
	if err != nil {
		ch.Close()
		g.log.Warn("switching to a stream", "err", err)
		return
	}
	defer conn.Close()
	fw := api.NewFrameWriter(conn)
	go func() {
		relayInput(brw.Reader, ch)
		ch.Close()
	}()
	ctx := context.Background() // ch.Close ends Next when the client leaves
	for {
		ev, err := ch.Next(ctx)
		if errors.Is(err, agentclient.ErrChannelEnded) {
			return // the client left, or the channel ended without a status
		}
		if err != nil {
			b, _ := json.Marshal(api.ErrorFrom(err))
			fw.Write(api.FrameError, b)
			return
		}
		switch {
		case ev.Stdout != nil:
			err = fw.Write(api.FrameStdout, ev.Stdout)
		case ev.Stderr != nil:
			err = fw.Write(api.FrameStderr, ev.Stderr)
		case ev.Exit != nil:
			b, _ := json.Marshal(exitToAPI(*ev.Exit))
			fw.Write(api.FrameExit, b)
			return
		case ev.End:
			b, _ := json.Marshal(exitToAPI(agentproto.ExitStatus{}))
			fw.Write(api.FrameExit, b)
			return
		}
		if err != nil {
			return // the client is gone; the input side closes the channel
		}
	}
}

// upgradeConn answers 101 and takes the connection over.
func upgradeConn(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the connection cannot be taken over")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	conn.SetDeadline(time.Time{}) // the server's timeouts were for the request
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + api.UpgradeProtocol + "\r\n" + api.VersionHeader + ": " + version.Version + "\r\n\r\n")
	if err := brw.Flush(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, brw, nil
}

// relayInput passes the client's frames to the channel until the client
// hangs up or breaks the framing.
func relayInput(r *bufio.Reader, ch *agentclient.Channel) {
	for {
		kind, payload, err := api.ReadFrame(r)
		if err != nil {
			return
		}
		switch kind {
		case api.FrameStdin:
			_, err = ch.Write(payload)
		case api.FrameStdinEOF:
			err = ch.CloseWrite()
		case api.FrameResize:
			var rows, cols uint16
			if rows, cols, err = api.ParseResize(payload); err == nil {
				err = ch.Resize(rows, cols)
			}
		case api.FrameSignal:
			err = ch.Signal(string(payload))
		}
		if err != nil {
			return
		}
	}
}

func exitToAPI(e agentproto.ExitStatus) api.ExitStatus {
	out := api.ExitStatus{Code: e.Status()}
	if e.Signal > 0 {
		out.Signal = strings.TrimPrefix(unix.SignalName(unix.Signal(e.Signal)), "SIG")
	}
	return out
}
