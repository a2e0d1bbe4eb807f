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
	"time"

	"banger/internal/config"
	"banger/internal/e2b/apikey"
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
	// Envd serves the sandbox side; nil answers it with 503.
	Envd Envd
	// EnvdContext returns ctx carrying the sandbox for Envd.
	EnvdContext func(ctx context.Context, s EnvdSandbox) context.Context
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
	Guests func() GuestNet
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
	allowRemote bool
	guests      func() GuestNet
	log         *slog.Logger
	mux         *http.ServeMux
	ln          net.Listener
	now         func() time.Time
}

// New makes a server; Listen also opens its address.
func New(opts Options) *Server {
	s := &Server{
		vms: opts.VMs, envd: opts.Envd, envdCtx: opts.EnvdContext, envdVersion: opts.EnvdVersion,
		keyFile: opts.KeyFile, records: &records{dir: opts.StateDir}, allowRemote: opts.AllowRemote,
		guests: opts.Guests, log: opts.Log, now: time.Now,
	}
	if s.envdVersion == "" {
		s.envdVersion = DefaultEnvdVersion
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.routes()
	return s
}

// Listen makes the server and opens opts.Addr; it returns nil, nil when
// Addr is "" (the E2B API is off). It makes the API key when there is
// none. A non-loopback address needs AllowRemote.
func Listen(opts Options) (*Server, error) {
	if opts.Addr == "" {
		return nil, nil
	}
	if !opts.AllowRemote && !config.IsLoopbackAddr(opts.Addr) {
		return nil, fmt.Errorf("e2b_listen_addr %q is not a loopback address: use 127.0.0.1:PORT, or set e2b_allow_remote = true", opts.Addr)
	}
	if _, err := apikey.Ensure(opts.KeyFile); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("making the E2B sandboxes' dir: %w", err)
	}
	s := New(opts)
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w: pick a free port in e2b_listen_addr (or remove the key to turn the E2B API off), then restart bangerd with `banger daemon stop`", err)
	}
	s.ln = ln
	s.log.Info("E2B API listening", "addr", ln.Addr().String(), "remote", opts.AllowRemote)
	return s, nil
}

// Addr is where a listening server listens.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve serves the listener Listen opened until ctx is done, then drains
// the requests in flight for a moment.
func (s *Server) Serve(ctx context.Context) error {
	hs := &http.Server{
		Handler:           s,
		ConnContext:       withPeer,
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
		return fmt.Errorf("serving the E2B API: %w", err)
	}
	return nil
}

// ServeHTTP checks the caller, then routes the request to a sandbox or to
// the control plane.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if msg := s.checkPeer(r); msg != "" {
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
	real, err := apikey.Load(s.keyFile)
	if err != nil {
		s.log.Warn("e2b: no API key, so every request is refused", "err", err)
		return false
	}
	return apikey.Equal(r.Header.Get("X-API-KEY"), real)
}
