package server

import (
	"context"
	"net/http"
	"path"

	"banger/internal/agent/agentclient"
	"banger/internal/api"
	"banger/internal/errdefs"
)

// copyRoutes adds the routes of `vm cp`.
func (g *guestAPI) copyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+api.Prefix+"/vms/{name}/copy-in", g.postCopy((*agentclient.Mux).CopyIn))
	mux.HandleFunc("POST "+api.Prefix+"/vms/{name}/copy-out", g.postCopy((*agentclient.Mux).CopyOut))
}

// postCopy opens a copy channel with open and relays it over the
// upgraded connection: the tar stream goes as input or output frames.
func (g *guestAPI) postCopy(open func(*agentclient.Mux, context.Context, string) (*agentclient.Channel, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.CopyRequest
		m, ok := g.streamRequest(w, r, &req)
		if !ok {
			return
		}
		if !path.IsAbs(req.Path) {
			writeError(w, errdefs.InvalidArgument("guest path %q is not absolute", req.Path))
			return
		}
		ch, err := open(m, r.Context(), req.Path)
		if err != nil {
			writeError(w, err)
			return
		}
		g.relay(w, ch)
	}
}
