// Package e2b is bangerd's E2B front-end: it serves E2B's control-plane
// API (create, list, pause, connect, fork and kill sandboxes, under
// X-API-KEY) and routes the sandbox side to each sandbox, so that the
// official E2B SDKs drive banger VMs unchanged. A sandbox is a banger VM
// labelled as one; its envd port (49983) goes to the envd handler, which
// translates the sandbox-side API onto banger's guest agent, and any
// other port to that port of the guest.
//
// Requests carrying E2b-Sandbox-Id and E2b-Sandbox-Port headers, or a
// Host of the form PORT-ID.localhost[:P], are the sandbox side; all other
// requests are the control plane. See docs/e2b.md.
package e2b

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"banger/internal/config"
	"banger/internal/e2b/apikey"
	"banger/internal/e2b/envd"
	"banger/internal/localpeer"
	"banger/internal/secretfile"
)

// DefaultEnvdVersion is the envd version sandboxes report; the SDK turns
// features on by it. 0.5.7 claims the default user (0.4.0), closing
// stdin (0.5.2) and octet-stream uploads (0.5.7); the features of later
// versions (file metadata, entry info in watch events, network-mount
// watches) are not served, so the SDK refuses them with a clear error
// instead of sending requests that would fail.
const DefaultEnvdVersion = "0.5.7"

// EnvdPort is the sandbox port the SDK reaches envd on.
const EnvdPort = 49983

// Options configure a Server.
type Options struct {
	VMs VMs
	// Envd serves the sandbox side, with EnvdContext carrying the
	// sandbox to it. When nil, an envd.Server over Agents does; with
	// neither, the sandbox side answers 503.
	Envd        Envd
	EnvdContext func(ctx context.Context, s EnvdSandbox) context.Context
	Agents      envd.Guests
	// EnvdVersion is the version sandboxes report; "" is
	// DefaultEnvdVersion.
	EnvdVersion string
	// KeyFile holds the API key (see the apikey package), read for each
	// request; StateDir holds the sandboxes' records.
	KeyFile, StateDir string
	// Addr is the address to listen on; AllowRemote lets it be one other
	// machines can reach.
	Addr        string
	AllowRemote bool
	// Guests, when set, names the guests' network, asked for each request:
	// connections from it are refused.
	Guests func() localpeer.GuestNet
	Log    *slog.Logger
}

// Server serves the E2B API.
type Server struct {
	vms         VMs
	envd        Envd
	envdCtx     func(context.Context, EnvdSandbox) context.Context
	envdVersion string
	keyFile     string
	records     *records
	peers       localpeer.Rules
	log         *slog.Logger
	mux         *http.ServeMux
	ln          net.Listener
	state       atomic.Pointer[status]
	now         func() time.Time
}

// New makes a server; Start also opens its address.
func New(opts Options) *Server {
	s := &Server{
		vms: opts.VMs, envd: opts.Envd, envdCtx: opts.EnvdContext, envdVersion: opts.EnvdVersion,
		keyFile: opts.KeyFile, records: &records{dir: opts.StateDir},
		log: opts.Log, now: time.Now,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.peers = localpeer.Rules{
		Name: "E2B API", LogPrefix: "e2b", Guests: opts.Guests, Log: s.log,
		AllowRemote: opts.AllowRemote, RemoteHint: ": set e2b_allow_remote = true to let others in with the API key",
	}
	if s.envd == nil && opts.Agents != nil {
		s.envd, s.envdCtx = envdOver(opts.Agents, s.log)
	}
	if s.envdVersion == "" {
		s.envdVersion = DefaultEnvdVersion
	}
	s.routes()
	return s
}

// Start makes the server and opens opts.Addr, as bangerd does at
// start-up; it returns nil when Addr is "" (the E2B API is off). A server
// that cannot open its address (a taken port, say) is returned off, with
// why in Status, and its Serve returns at once: the E2B API's trouble must
// not take bangerd down. The key file is made when there is none. A
// non-loopback address needs AllowRemote.
func Start(opts Options) *Server {
	if opts.Addr == "" {
		return nil
	}
	s := New(opts)
	ln, err := s.listen(opts)
	if err != nil {
		s.off(err)
		return s
	}
	s.ln = ln
	s.state.Store(&status{addr: ln.Addr().String()})
	s.log.Info("E2B API listening", "addr", ln.Addr().String(), "remote", opts.AllowRemote)
	return s
}

func (s *Server) listen(opts Options) (net.Listener, error) {
	if !opts.AllowRemote && !config.IsLoopbackAddr(opts.Addr) {
		return nil, fmt.Errorf("e2b_listen_addr %q is not a loopback address: use 127.0.0.1:PORT, or set e2b_allow_remote = true", opts.Addr)
	}
	if _, err := apikey.Secret.Ensure(opts.KeyFile); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("making the E2B sandboxes' dir: %w", err)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w: pick a free port in e2b_listen_addr (or remove the key to turn the E2B API off), then restart bangerd with `banger daemon stop`", err)
	}
	return ln, nil
}

// status is where the server listens, or why it is off.
type status struct{ addr, err string }

// off records why the server is off, and logs it.
func (s *Server) off(err error) {
	s.log.Error("E2B API is off; bangerd serves without it", "err", err)
	s.state.Store(&status{err: err.Error()})
}

// Status is where a started server listens, or why it is off; both are
// "" for a nil server (the E2B API is not configured).
func (s *Server) Status() (addr, failure string) {
	if s == nil {
		return "", ""
	}
	if st := s.state.Load(); st != nil {
		return st.addr, st.err
	}
	return "", ""
}

// Serve serves until ctx is done, then drains the requests in flight for
// a moment. A nil or off server returns at once; a failure is recorded
// in Status.
func (s *Server) Serve(ctx context.Context) {
	if s == nil || s.ln == nil {
		return
	}
	hs := &http.Server{
		Handler:           s,
		ConnContext:       localpeer.ConnContext,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	if err := hs.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		s.off(fmt.Errorf("serving the E2B API: %w", err))
	}
}

// ServeHTTP checks the caller, then routes the request to a sandbox or to
// the control plane.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if msg := s.peers.Refusal(r); msg != "" {
		fail(w, http.StatusForbidden, "%s", msg)
		return
	}
	if t, ok, err := sandboxTarget(r); err != nil {
		failSandbox(w, r, http.StatusBadRequest, "%v", err)
		return
	} else if ok {
		s.serveSandbox(w, r, t)
		return
	}
	if t, ok := s.signedTarget(r); ok {
		s.serveSandbox(w, r, t)
		return
	}
	if !s.checkKey(r) {
		fail(w, http.StatusUnauthorized, "missing or wrong X-API-KEY: `banger e2b env` prints the key to export as E2B_API_KEY")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// checkKey reports whether the request carries the API key.
func (s *Server) checkKey(r *http.Request) bool {
	real, err := apikey.Secret.Load(s.keyFile)
	if err != nil {
		s.log.Warn("e2b: no API key, so every request is refused", "err", err)
		return false
	}
	return secretfile.Equal(r.Header.Get("X-API-KEY"), real)
}
