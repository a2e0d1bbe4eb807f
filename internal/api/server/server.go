// Package server is bangerd's API transport: one route table, the guard
// every request passes (peer credentials, Origin, version), JSON encoding
// and progress streaming. Its handlers translate between the wire types of
// package api and the small interfaces below, which the VM manager and the
// image library satisfy; the web UI calls the same interfaces.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"banger/internal/agent/agentclient"
	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/library"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/version"
	"banger/internal/vm"
)

// VMs is the VM manager's lifecycle side.
type VMs interface {
	List(ctx context.Context) ([]store.VM, error)
	Get(ctx context.Context, name string) (store.VM, error)
	Create(ctx context.Context, req api.CreateVMRequest, prog progress.Func) (store.VM, error)
	Start(ctx context.Context, name string, prog progress.Func) (store.VM, error)
	Restart(ctx context.Context, name string, prog progress.Func) (store.VM, error)
	Stop(ctx context.Context, name string) (store.VM, error)
	Suspend(ctx context.Context, name string, prog progress.Func) (store.VM, error)
	Delete(ctx context.Context, name string, force bool) error
	SetNetwork(ctx context.Context, name, policy string) (store.VM, error)
	SetLabels(ctx context.Context, name string, labels map[string]string) (store.VM, error)
	SetExpiry(ctx context.Context, name string, at time.Time) (store.VM, error)
	SSHTarget(ctx context.Context, name string) (vm.SSHTarget, error)
	ConsoleLog(ctx context.Context, name string) (vm.ConsoleLog, error)
}

// Guests reaches running VMs' guest agents.
type Guests interface {
	// Agent is the link to running VM name's agent.
	Agent(ctx context.Context, name string) (*agentclient.Mux, error)
	Guest(ctx context.Context, name string) (vm.Guest, error)
	// Stats measures running VM name: its VMM process and its guest.
	Stats(ctx context.Context, name string) (vm.Stats, error)
}

// Snapshots saves and lists snapshots and warm templates.
type Snapshots interface {
	Snapshot(ctx context.Context, vmName, name string, prog progress.Func) (vm.SnapshotInfo, error)
	Snapshots() []vm.SnapshotInfo
	GetSnapshot(name string) (vm.SnapshotInfo, error)
	DeleteSnapshot(name string) error
	WarmImage(ctx context.Context, image string, vcpu, memoryMiB int, prog progress.Func) (vm.TemplateInfo, error)
	Templates(image string) []vm.TemplateInfo
}

// Library is the image and kernel library.
type Library interface {
	Images(ctx context.Context) ([]store.Image, error)
	ImageDetail(ctx context.Context, name string) (library.ImageDetail, error)
	PullImage(ctx context.Context, name string, prog progress.Func) (store.Image, error)
	RegisterImage(ctx context.Context, req api.RegisterImageRequest) (store.Image, error)
	ImportImage(ctx context.Context, req api.ImportImageRequest, prog progress.Func) (store.Image, error)
	ExportImage(ctx context.Context, name string) (func(io.Writer) error, error)
	DeleteImage(ctx context.Context, name string) error
	Catalog(ctx context.Context) []api.CatalogEntry
	Kernels(ctx context.Context) ([]store.Kernel, error)
	Kernel(ctx context.Context, name string) (store.Kernel, error)
	KernelUsers(ctx context.Context, name string) ([]string, error)
	PullKernel(ctx context.Context, name string, prog progress.Func) (store.Kernel, error)
	RegisterKernel(ctx context.Context, req api.RegisterKernelRequest) (store.Kernel, error)
	DeleteKernel(ctx context.Context, name string) error
}

// Daemon is the process serving the API.
type Daemon interface {
	Info(ctx context.Context) (api.DaemonInfo, error)
	// Shutdown asks the daemon to stop, after the answer is sent.
	Shutdown()
	// Refresh brings the config up to date before a request and says why
	// config.toml is not in force, or "" when it is.
	Refresh(ctx context.Context) string
	// Defaults is a create request filled with the config's defaults.
	Defaults(ctx context.Context) api.CreateVMRequest
}

// Options are the parts a Server serves.
type Options struct {
	VMs       VMs
	Guests    Guests
	Snapshots Snapshots
	Library   Library
	Daemon    Daemon
	Log       *slog.Logger
	// Ports, when set, serves `banger vm port-forward`.
	Ports Ports
}

// Server serves the API.
type Server struct {
	vms     VMs
	snaps   Snapshots
	lib     Library
	daemon  Daemon
	guest   guestAPI
	ports   Ports
	log     *slog.Logger
	handler http.Handler
}

// New returns the server of o.
func New(o Options) *Server {
	s := &Server{
		vms: o.VMs, snaps: o.Snapshots, lib: o.Library, daemon: o.Daemon, log: o.Log,
		guest: guestAPI{vms: o.VMs, guests: o.Guests, log: o.Log}, ports: o.Ports,
	}
	s.handler = s.guard(s.routes())
	return s
}

// ServeHTTP serves the API, behind its guard.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routes is the API's route table.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	p := api.Prefix
	mux.HandleFunc("GET "+p+"/daemon", s.getDaemon)
	mux.HandleFunc("POST "+p+"/daemon/shutdown", s.postShutdown)
	s.vmRoutes(mux)
	s.imageRoutes(mux)
	s.snapshotRoutes(mux)
	s.guest.routes(mux)
	s.portRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errdefs.NotFound("no API route %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func (s *Server) getDaemon(w http.ResponseWriter, r *http.Request) {
	info, err := s.daemon.Info(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) postShutdown(w http.ResponseWriter, r *http.Request) {
	s.log.Info("shutdown requested")
	writeJSON(w, http.StatusOK, struct{}{})
	s.daemon.Shutdown()
}

// listOf serves a list route: it fetches records and converts each to its
// wire type, answering [] rather than null when there are none.
func listOf[R, W any](fetch func(context.Context) ([]R, error), conv func(R) W) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		records, err := fetch(r.Context())
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, convertAll(records, conv))
	}
}

// convertAll converts records to wire types: [] rather than null for none.
func convertAll[R, W any](records []R, conv func(R) W) []W {
	out := make([]W, 0, len(records))
	for _, rec := range records {
		out = append(out, conv(rec))
	}
	return out
}

type peerKey struct{}

// WithPeer records the connecting process's credentials.
func WithPeer(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ctx
	}
	var cred *unix.Ucred
	_ = raw.Control(func(fd uintptr) {
		cred, _ = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if cred == nil {
		return ctx
	}
	return context.WithValue(ctx, peerKey{}, cred)
}

// guard refuses callers that are not the daemon's owner (or root), requests
// that a browser made (Origin or Referer set), and clients of another
// version, before any handler runs. It stamps every answer with our version.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(api.VersionHeader, version.Version)
		cred, _ := r.Context().Value(peerKey{}).(*unix.Ucred)
		if cred == nil || (cred.Uid != uint32(os.Getuid()) && cred.Uid != 0) {
			s.log.Warn("refused caller", "uid", uidOf(cred))
			writeStatus(w, http.StatusForbidden, api.Error{Kind: string(errdefs.KindFailedPrecondition), Message: "bangerd serves only its owner"})
			return
		}
		if r.Header.Get("Origin") != "" || r.Header.Get("Referer") != "" {
			writeStatus(w, http.StatusForbidden, api.Error{Kind: string(errdefs.KindFailedPrecondition), Message: "requests from web pages are refused"})
			return
		}
		if v := r.Header.Get(api.VersionHeader); v != "" && v != version.Version && !versionExempt(r) {
			writeStatus(w, http.StatusConflict, api.Error{Kind: api.KindVersionMismatch, Message: "bangerd is version " + version.Version})
			return
		}
		if msg := s.daemon.Refresh(r.Context()); msg != "" {
			w.Header().Set(api.ConfigWarningHeader, msg)
		}
		next.ServeHTTP(w, r)
	})
}

// versionExempt lists the routes any client version may call, so a CLI can
// always inspect and stop a daemon of another version.
func versionExempt(r *http.Request) bool {
	switch r.URL.Path {
	case api.Prefix + "/daemon", api.Prefix + "/daemon/shutdown":
		return true
	}
	return false
}

func uidOf(c *unix.Ucred) int64 {
	if c == nil {
		return -1
	}
	return int64(c.Uid)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeStatus(w http.ResponseWriter, status int, e api.Error) {
	writeJSON(w, status, api.ErrorResponse{Error: e})
}

// statusOf maps an error kind to its HTTP status.
func statusOf(kind errdefs.Kind) int {
	switch kind {
	case errdefs.KindNotFound:
		return http.StatusNotFound
	case errdefs.KindAlreadyExists:
		return http.StatusConflict
	case errdefs.KindInvalidArgument:
		return http.StatusBadRequest
	case errdefs.KindFailedPrecondition:
		return http.StatusPreconditionFailed
	case errdefs.KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, err error) {
	e := api.ErrorFrom(err)
	writeStatus(w, statusOf(errdefs.Kind(e.Kind)), e)
}

// maxBody bounds a JSON request body.
const maxBody = 1 << 20

// decode reads a JSON request body: exactly one JSON value, with no
// unknown fields and nothing after it.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, next := dec.Token(); next != io.EOF {
			err = errors.Join(errTrailing, next)
		}
	}
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe):
		return errdefs.InvalidArgument("request body larger than %d bytes", mbe.Limit)
	case errors.Is(err, errTrailing):
		return errdefs.InvalidArgument("bad request body: data after the JSON value: send one JSON object")
	}
	return errdefs.InvalidArgument("bad request body: %v", err)
}

var errTrailing = errors.New("data after the JSON value")
