// Package envd serves the sandbox side of E2B's API (the process and
// filesystem Connect services, /files and /health) for banger's VMs. It
// translates each call onto the VM's own guest agent: the guest runs no
// second daemon. Processes started through it are kept in a host-side
// table per sandbox, so that a client can leave and re-attach.
//
// Where it differs from E2B's own envd:
//   - banger's guests run everything as root: the users "root" and
//     "user" (the SDK's default) are accepted and both act as root;
//     relative paths and the default working directory are under /root.
//   - process.Process/StreamInput needs a client stream and answers
//     Unimplemented; the SDK sends input with SendInput.
//   - Connect re-attaches to new output only, as envd does: nothing is
//     replayed, but what the guest kept while bangerd's link to it was
//     lost (reattach.go) goes to the next stream.
//   - Files keep no user metadata: uploads with X-Metadata-* headers are
//     refused.
package envd

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	"banger/internal/agent/agentclient"
	"banger/internal/e2b/envd/pb/filesystem/filesystemconnect"
	"banger/internal/e2b/envd/pb/process/processconnect"
	"banger/internal/errdefs"
)

// Guests finds the agent of a running VM.
type Guests interface {
	Agent(ctx context.Context, vmName string) (*agentclient.Mux, error)
}

// Options configures a Server.
type Options struct {
	Guests Guests
	Log    *slog.Logger
	// Keepalive is how often a stream that has nothing to say sends a
	// keepalive when the client does not ask for an interval; zero means
	// 30 seconds.
	Keepalive time.Duration
}

// Sandbox is the sandbox a request is for, as the router in front of
// the Server found it.
type Sandbox struct {
	VM string
	// Env is the default environment of the sandbox's commands.
	Env map[string]string
	// AccessToken, when set, is the token that signs /files URLs.
	AccessToken string
}

type sandboxKey struct{}

// WithSandbox returns ctx carrying sb, for ServeHTTP.
func WithSandbox(ctx context.Context, sb Sandbox) context.Context {
	return context.WithValue(ctx, sandboxKey{}, sb)
}

// sandboxFrom is the sandbox of a request's context.
func sandboxFrom(ctx context.Context) (Sandbox, bool) {
	sb, ok := ctx.Value(sandboxKey{}).(Sandbox)
	return sb, ok && sb.VM != ""
}

// Server serves envd's API for any number of sandboxes, one per request.
type Server struct {
	log       *slog.Logger
	keepalive time.Duration
	mux       *http.ServeMux

	// execer and files reach a VM's guest; tests replace them.
	execer func(ctx context.Context, vm string) (execer, error)
	files  func(ctx context.Context, vm string) (Files, error)

	mu      sync.Mutex
	tables  map[string]*table // processes by VM
	watches *watchers
	hostPID atomic.Uint32
}

// New makes a Server.
func New(opts Options) *Server {
	s := &Server{
		log: opts.Log, keepalive: opts.Keepalive, mux: http.NewServeMux(),
		tables: map[string]*table{}, watches: newWatchers(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.keepalive <= 0 {
		s.keepalive = 30 * time.Second
	}
	s.execer = func(ctx context.Context, vm string) (execer, error) {
		m, err := agentOf(ctx, opts.Guests, vm)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	s.files = func(ctx context.Context, vm string) (Files, error) {
		m, err := agentOf(ctx, opts.Guests, vm)
		if err != nil {
			return nil, err
		}
		return filesOf(m)
	}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.Handle(processconnect.NewProcessHandler(&processService{s: s}))
	s.mux.Handle(filesystemconnect.NewFilesystemHandler(&fsService{s: s}))
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s.mux.HandleFunc("GET /files", s.getFile)
	s.mux.HandleFunc("POST /files", s.postFiles)
	s.mux.HandleFunc("GET /envs", s.getEnvs)
}

// ServeHTTP answers one request for the sandbox in r's context.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, ok := sandboxFrom(r.Context()); !ok {
		http.Error(w, "envd: the request reached the sandbox API without a sandbox; route it through the E2B router, which sets one with envd.WithSandbox", http.StatusInternalServerError)
		return
	}
	// Streams and file transfers last as long as the process or file
	// does: the listener's timeouts were for reading the request head.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	s.mux.ServeHTTP(w, r)
}

// Forget drops what the Server keeps for vm (its process table and
// watchers), as when the VM is deleted.
func (s *Server) Forget(vm string) {
	s.mu.Lock()
	t := s.tables[vm]
	delete(s.tables, vm)
	s.mu.Unlock()
	if t != nil {
		t.closeAll()
	}
	s.watches.forget(vm)
}

// table is vm's process table, made on first use.
func (s *Server) table(vm string) *table {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[vm]
	if t == nil {
		t = newTable(s, vm)
		s.tables[vm] = t
	}
	return t
}

// agentOf finds vm's agent; no agent is an Unavailable error.
func agentOf(ctx context.Context, g Guests, vm string) (*agentclient.Mux, error) {
	if g == nil {
		return nil, errdefs.Unavailable("sandbox %s: no guest agents are wired to the sandbox API", vm)
	}
	m, err := g.Agent(ctx, vm)
	if err != nil {
		if k := errdefs.KindOf(err); k == errdefs.KindInternal {
			err = errdefs.Wrap(errdefs.KindUnavailable, err)
		}
		return nil, err
	}
	return m, nil
}

// sandboxOf is the sandbox of a Connect call.
func sandboxOf(ctx context.Context) (Sandbox, error) {
	sb, ok := sandboxFrom(ctx)
	if !ok {
		return Sandbox{}, connect.NewError(connect.CodeInternal, errors.New("no sandbox in the request's context"))
	}
	return sb, nil
}
