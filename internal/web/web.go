// Package web is banger's experimental web UI: pages that list VMs, images,
// kernels and snapshots, show a VM's console and sessions, create, start,
// restart, stop and delete VMs, and pull images. bangerd serves it on its own TCP address (web_listen_addr),
// apart from the API socket, and hands it a Backend that calls the daemon's
// internals directly.
//
// The pages are plain HTML from html/template with a little JavaScript, all
// embedded in the binary. A connection from this machine must belong to
// the daemon's user (or root); every request's Host is checked (against
// DNS rebinding), and every request that changes state must come from the
// UI's own origin and carry its CSRF token. Guests are never served, and
// other machines (with web_allow_remote) only with the access token.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"banger/internal/api"
	"banger/internal/localpeer"
	"banger/internal/progress"
)

// Backend is what the UI needs from the daemon. Errors carry errdefs kinds.
type Backend interface {
	ListVMs(ctx context.Context) ([]api.VM, error)
	GetVM(ctx context.Context, name string) (api.VM, error)
	ListImages(ctx context.Context) ([]api.Image, error)
	ListKernels(ctx context.Context) ([]api.Kernel, error)
	// ListSessions lists the sessions of one VM, as GET /v1/sessions?vm=NAME.
	ListSessions(ctx context.Context, vm string) ([]api.Session, error)
	// Defaults is a create request filled with the config's defaults.
	Defaults(ctx context.Context) (api.CreateVMRequest, error)
	CreateVM(ctx context.Context, req api.CreateVMRequest, prog progress.Func) error
	StartVM(ctx context.Context, name string, prog progress.Func) error
	// RestartVM stops a VM and boots it again.
	RestartVM(ctx context.Context, name string, prog progress.Func) error
	StopVM(ctx context.Context, name string) error
	DeleteVM(ctx context.Context, name string, force bool) error
	ListSnapshots(ctx context.Context) ([]api.Snapshot, error)
	// Catalog lists the images and kernels that can be pulled by name.
	Catalog(ctx context.Context) []api.CatalogEntry
	// PullImage pulls a catalog image or an OCI reference, as
	// POST /v1/images/pull.
	PullImage(ctx context.Context, name string, prog progress.Func) error
	// ConsoleLog is the path of a VM's serial console log; the file may not
	// exist yet.
	ConsoleLog(ctx context.Context, name string) (string, error)
	// ConfigWarning says why config.toml is not in force (it is invalid,
	// and the daemon uses its last good config), or "" when it is.
	ConfigWarning() string
}

// Options configure a Server.
type Options struct {
	Backend Backend
	Log     *slog.Logger
	// Addr is the configured listen address; its host decides which Host
	// headers are accepted.
	Addr string
	// Guests, when set, names the guests' network, asked for each request
	// (the config can change): connections from it are refused.
	Guests func() localpeer.GuestNet
	// TokenFile holds the access token that other machines must present
	// (see the token package); "" lets no other machine in.
	TokenFile string
}

// Server serves the web UI.
type Server struct {
	b         Backend
	log       *slog.Logger
	hosts     hostPolicy
	peers     localpeer.Rules
	tokenFile string
	csrf      string
	pages     *pages
	ops       *ops // of VMs
	pulls     *ops // of images
}

// New builds a Server.
func New(o Options) (*Server, error) {
	if o.Backend == nil {
		return nil, errors.New("web: no backend")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	hosts, err := newHostPolicy(o.Addr)
	if err != nil {
		return nil, err
	}
	pg, err := loadPages()
	if err != nil {
		return nil, err
	}
	return &Server{
		b: o.Backend, log: o.Log, hosts: hosts, tokenFile: o.TokenFile,
		peers: localpeer.Rules{Name: "web UI", LogPrefix: "web", Guests: o.Guests, AllowRemote: !hosts.Loopback(), Log: o.Log},
		csrf:  newToken(), pages: pg, ops: newOps("VM"), pulls: newOps("image"),
	}, nil
}

// newToken makes the CSRF token: 32 random bytes, new each time bangerd
// starts.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// shutdownGrace bounds how long open pages and operations delay a stop.
const shutdownGrace = 10 * time.Second

// Serve serves the UI on ln until ctx is done. Operations started from the
// UI run under ctx; Serve waits for them (within shutdownGrace) before it
// returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.ops.base, s.pulls.base = ctx, ctx
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnContext:       localpeer.ConnContext,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		_ = hs.Shutdown(sctx)
		s.ops.wait(sctx)
		s.pulls.wait(sctx)
	}()
	err := hs.Serve(ln)
	wg.Wait()
	if !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving the web UI: %w", err)
	}
	return nil
}

// Handler is the UI with its security checks.
func (s *Server) Handler() http.Handler {
	return s.guard(s.routes())
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.vmsPage)
	mux.HandleFunc("GET /images", s.imagesPage)
	mux.HandleFunc("GET /kernels", s.kernelsPage)
	mux.HandleFunc("GET /snapshots", s.snapshotsPage)
	mux.HandleFunc("GET /parts/images", s.imagesPart)
	mux.HandleFunc("POST /images/pull", s.pullImage)
	mux.HandleFunc("GET /vms/{name}", s.vmPage)
	mux.HandleFunc("GET /vms/{name}/console", s.console)
	mux.HandleFunc("GET /parts/vms", s.vmRowsPart)
	mux.HandleFunc("GET /parts/vms/{name}", s.vmStatusPart)
	mux.HandleFunc("POST /vms", s.createVM)
	mux.HandleFunc("POST /vms/{name}/start", s.startVM)
	mux.HandleFunc("POST /vms/{name}/restart", s.restartVM)
	mux.HandleFunc("POST /vms/{name}/stop", s.stopVM)
	mux.HandleFunc("POST /vms/{name}/delete", s.deleteVM)
	mux.Handle("GET /static/", static())
	mux.Handle("GET "+loginPath, http.RedirectHandler("/", http.StatusSeeOther)) // this machine needs no login
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "no page at "+r.URL.Path)
	})
	return mux
}

// static serves the embedded CSS and JavaScript, without directory
// listings.
func static() http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(staticFS))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}
