package envd

import (
	"context"
	"encoding/base64"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"banger/internal/agent/agentproto"
	pb "banger/internal/e2b/envd/pb/process"
	"banger/internal/errdefs"
)

// home is the working directory of commands and the base of relative
// paths: banger's guests run everything as root.
const home = "/root"

// keepaliveHeader carries the interval, in seconds, at which the client
// wants keepalive events on an idle stream.
const keepaliveHeader = "Keepalive-Ping-Interval"

// minKeepalive bounds how often a client may ask for keepalives.
const minKeepalive = 10 * time.Millisecond

// start runs req's process and returns it with a follower subscribed
// before any output, so the first stream sees everything.
func (s *Server) start(ctx context.Context, sb Sandbox, req *pb.StartRequest, h http.Header) (*proc, *sub, error) {
	if err := checkUser(userOf(h)); err != nil {
		return nil, nil, err
	}
	spec, err := execSpec(sb, req)
	if err != nil {
		return nil, nil, err
	}
	ex, err := s.execer(ctx, sb.VM)
	if err != nil {
		return nil, nil, err
	}
	spec.Keep, spec.Tag = true, req.GetTag()
	ch, err := ex.Exec(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	t := s.table(sb.VM)
	p := &proc{
		pid: uint32(max(ch.PID(), 0)), tag: req.Tag, config: req.GetProcess(), pty: spec.TTY,
		stdin: req.Stdin == nil || *req.Stdin, t: t, subs: map[*sub]struct{}{},
	}
	p.agentPID = p.pid != 0
	if !p.agentPID {
		p.pid = s.hostPID.Add(1) + firstHostPID
	}
	if !p.stdin && !p.pty {
		ch.CloseWrite() // no stdin: the process reads end of file
	}
	sub := p.subscribe()
	t.add(p)
	p.follow(ch)
	s.log.Debug("e2b process started", "vm", sb.VM, "pid", p.pid, "cmd", spec.Argv[0])
	return p, sub, nil
}

// execSpec is what the agent runs for req: its command over the
// sandbox's environment, in its directory (relative to /root).
func execSpec(sb Sandbox, req *pb.StartRequest) (agentproto.ExecSpec, error) {
	cfg := req.GetProcess()
	if cfg.GetCmd() == "" {
		return agentproto.ExecSpec{}, errdefs.InvalidArgument("no command given: set process.cmd")
	}
	env := maps.Clone(sb.Env)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, cfg.GetEnvs())
	spec := agentproto.ExecSpec{Argv: append([]string{cfg.GetCmd()}, cfg.GetArgs()...), Dir: resolve(cfg.GetCwd())}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.Contains(env[k], "\x00") {
			return agentproto.ExecSpec{}, errdefs.InvalidArgument("environment variable %q: a name must be non-empty, without '=' or NUL", k)
		}
		spec.Env = append(spec.Env, k+"="+env[k])
	}
	if req.Pty != nil {
		spec.TTY = true
		if sz := req.Pty.GetSize(); sz.GetRows() > 0 && sz.GetCols() > 0 && sz.GetRows() <= 0xffff && sz.GetCols() <= 0xffff {
			spec.Size = &agentproto.WindowSize{Rows: uint16(sz.Rows), Cols: uint16(sz.Cols)}
		}
	}
	return spec, nil
}

// resolve makes p absolute against /root ("" is /root itself).
func resolve(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		p = home + p[1:]
	}
	if !path.IsAbs(p) {
		p = path.Join(home, p)
	}
	return path.Clean(p)
}

// userOf is the user a request names in its Basic authorization
// ("user:" in base64), or "".
func userOf(h http.Header) string {
	v, ok := strings.CutPrefix(h.Get("Authorization"), "Basic ")
	if !ok {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return ""
	}
	u, _, _ := strings.Cut(string(b), ":")
	return u
}

// checkUser accepts the users E2B's SDK knows, "root" and "user" (its
// default); banger's guests run every command and file operation as
// root whichever is named.
func checkUser(u string) error {
	switch u {
	case "", "root", "user":
		return nil
	}
	return errdefs.InvalidArgument("user %q does not exist in this sandbox: banger runs everything as root; name \"root\" or \"user\"", u)
}

// keepaliveOf is the keepalive interval h asks for, no longer than def.
func keepaliveOf(h http.Header, def time.Duration) time.Duration {
	secs, err := strconv.ParseFloat(h.Get(keepaliveHeader), 64)
	if err != nil || secs <= 0 {
		return def
	}
	d := time.Duration(secs * float64(time.Second))
	return min(max(d, minKeepalive), def)
}

// follow sends a start event, then p's events from s as they come, with
// a keepalive after every interval without one, until the end event
// (nil), the client leaves or ctx ends.
func follow(ctx context.Context, p *proc, s *sub, interval time.Duration, send func(*pb.ProcessEvent) error) error {
	start := &pb.ProcessEvent{Event: &pb.ProcessEvent_Start{Start: &pb.ProcessEvent_StartEvent{Pid: p.pid}}}
	if err := send(start); err != nil {
		return err
	}
	keepalive := &pb.ProcessEvent{Event: &pb.ProcessEvent_Keepalive{Keepalive: &pb.ProcessEvent_KeepAlive{}}}
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		evs, final, err := s.take()
		for _, ev := range evs {
			if err := send(ev); err != nil {
				return err
			}
		}
		if len(evs) > 0 {
			timer.Reset(interval)
		}
		if final {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		case <-timer.C:
			if err := send(keepalive); err != nil {
				return err
			}
			timer.Reset(interval)
		}
	}
}
