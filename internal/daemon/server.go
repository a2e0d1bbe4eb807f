package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/network"
	"banger/internal/paths"
	"banger/internal/store"
	"banger/internal/version"
	"banger/internal/vmm"
)

type server struct {
	dirs     paths.Dirs
	cfg      *liveConfig
	store    *store.Store
	pulls    keyedMutex
	log      *slog.Logger
	started  time.Time
	shutdown func()

	// VMs: one lifecycle operation per VM at a time; netMu orders address
	// allocation and bridge set-up against teardown.
	base     context.Context // the daemon's lifetime, for VM watchers
	vmLocks  keyedMutex
	netMu    sync.Mutex
	net      network.Client
	drivers  map[string]vmm.Driver // tests replace drivers; nil in production
	watchMu  sync.Mutex
	watchers map[string]context.CancelFunc
	dns      vmDNS      // .vm names; see vm_dns.go
	agents   agentLinks // connections to guest agents, for exec and sessions
}

func newServer(dirs paths.Dirs, cfg *liveConfig, st *store.Store, log *slog.Logger, shutdown func()) *server {
	self, _ := os.Executable()
	return &server{
		dirs: dirs, cfg: cfg, store: st, log: log, started: time.Now(), shutdown: shutdown,
		base: context.Background(), net: network.NewClient(self), watchers: map[string]context.CancelFunc{},
	}
}

// routes builds the API mux wrapped in the guard middleware.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	p := api.Prefix
	mux.HandleFunc("GET "+p+"/daemon", s.getDaemon)
	mux.HandleFunc("POST "+p+"/daemon/shutdown", s.postShutdown)
	mux.HandleFunc("GET "+p+"/vms", listOf(s.store.ListVMs, vmToAPI))
	mux.HandleFunc("GET "+p+"/vms/{name}", s.getVM)
	mux.HandleFunc("POST "+p+"/vms", s.postCreateVM)
	mux.HandleFunc("DELETE "+p+"/vms/{name}", s.deleteVMHandler)
	mux.HandleFunc("POST "+p+"/vms/{name}/start", s.postStartVM)
	mux.HandleFunc("POST "+p+"/vms/{name}/stop", s.postStopVM)
	mux.HandleFunc("POST "+p+"/vms/{name}/restart", s.postRestartVM)
	mux.HandleFunc("GET "+p+"/vms/{name}/ssh", s.getVMSSH)
	mux.HandleFunc("GET "+p+"/vms/{name}/logs", s.getVMLogs)
	mux.HandleFunc("PUT "+p+"/vms/{name}/network", s.putVMNetwork)
	mux.HandleFunc("GET "+p+"/images", listOf(s.store.ListImages, imageToAPI))
	mux.HandleFunc("POST "+p+"/images", s.postRegisterImage)
	mux.HandleFunc("POST "+p+"/images/pull", s.postPullImage)
	mux.HandleFunc("POST "+p+"/images/import", s.postImportImage)
	mux.HandleFunc("GET "+p+"/images/{name}", s.getImage)
	mux.HandleFunc("GET "+p+"/images/{name}/bundle", s.getImageBundle)
	mux.HandleFunc("DELETE "+p+"/images/{name}", s.deleteImage)
	mux.HandleFunc("POST "+p+"/images/{name}/warm", s.postWarmImage)
	mux.HandleFunc("GET "+p+"/kernels", listOf(s.store.ListKernels, kernelToAPI))
	mux.HandleFunc("POST "+p+"/kernels", s.postRegisterKernel)
	mux.HandleFunc("POST "+p+"/kernels/pull", s.postPullKernel)
	mux.HandleFunc("GET "+p+"/kernels/{name}", s.getKernel)
	mux.HandleFunc("DELETE "+p+"/kernels/{name}", s.deleteKernel)
	mux.HandleFunc("GET "+p+"/catalog", s.getCatalog)
	s.execRoutes(mux)
	s.snapshotRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errdefs.NotFound("no API route %s %s", r.Method, r.URL.Path))
	})
	return s.guard(mux)
}

type peerKey struct{}

// withPeer records the connecting process's credentials.
func withPeer(ctx context.Context, c net.Conn) context.Context {
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
func (s *server) guard(next http.Handler) http.Handler {
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
		s.applyConfig(w, r)
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
