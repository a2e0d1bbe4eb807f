package daemon

import (
	"context"
	"net/http"
	"os"

	"banger/internal/api"
	"banger/internal/store"
	"banger/internal/version"
)

func (s *server) getDaemon(w http.ResponseWriter, r *http.Request) {
	schema, err := s.store.SchemaVersion(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.DaemonInfo{
		Version:   version.Version,
		PID:       os.Getpid(),
		Socket:    s.dirs.Socket(),
		StartedAt: s.started.UTC(),
		StateDir:  s.dirs.State,
		LogFile:   s.dirs.LogFile(),
		Schema:    schema,

		ConfigWarning: s.cfg.warning(),
	})
}

func (s *server) postShutdown(w http.ResponseWriter, r *http.Request) {
	s.log.Info("shutdown requested")
	writeJSON(w, http.StatusOK, struct{}{})
	s.shutdown()
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
		out := make([]W, 0, len(records))
		for _, rec := range records {
			out = append(out, conv(rec))
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *server) getVM(w http.ResponseWriter, r *http.Request) {
	v, err := s.store.GetVM(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, vmToAPI(v))
}

func imageToAPI(im store.Image) api.Image {
	return api.Image{Name: im.Name, Source: im.Source, Kernel: im.Kernel, SizeBytes: im.SizeBytes, CreatedAt: im.CreatedAt}
}

func kernelToAPI(k store.Kernel) api.Kernel {
	return api.Kernel{Name: k.Name, Version: k.Version, Source: k.Source, CreatedAt: k.CreatedAt}
}
