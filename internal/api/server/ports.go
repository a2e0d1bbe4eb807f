package server

import (
	"context"
	"net/http"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/portfwd"
	"banger/internal/store"
)

// Ports adds and removes the host ports bangerd forwards to VMs.
type Ports interface {
	Add(ctx context.Context, name string, ports []api.PortForward) (store.VM, error)
	Remove(ctx context.Context, name string, ports []api.PortForward) (store.VM, error)
}

// portRoutes serve `banger vm port-forward`; a VM's forwards are listed
// with it (GET /v1/vms/{name}).
func (s *Server) portRoutes(mux *http.ServeMux) {
	if s.ports == nil {
		return
	}
	p := api.Prefix
	mux.HandleFunc("POST "+p+"/vms/{name}/ports", s.postPorts)
	mux.HandleFunc("DELETE "+p+"/vms/{name}/ports", s.deletePorts)
}

func (s *Server) postPorts(w http.ResponseWriter, r *http.Request) {
	var req api.AddPortsRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if len(req.Ports) == 0 {
		writeError(w, errdefs.InvalidArgument("no port to forward: give [HOSTADDR:][HOSTPORT:]GUESTPORT[/udp]"))
		return
	}
	v, err := s.ports.Add(r.Context(), r.PathValue("name"), req.Ports)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, vmToAPI(v))
}

// deletePorts removes the forwards named by the query's port values,
// each [HOSTADDR:]HOSTPORT[/PROTO].
func (s *Server) deletePorts(w http.ResponseWriter, r *http.Request) {
	var rm []api.PortForward
	for _, q := range r.URL.Query()["port"] {
		sp, err := portfwd.ParseHost(q)
		if err != nil {
			writeError(w, errdefs.InvalidArgument("%v", err))
			return
		}
		rm = append(rm, api.PortForward{HostAddr: sp.HostAddr, HostPort: sp.HostPort, Proto: sp.Proto})
	}
	if len(rm) == 0 {
		writeError(w, errdefs.InvalidArgument("no host port to stop forwarding: give port=[HOSTADDR:]HOSTPORT[/udp]"))
		return
	}
	v, err := s.ports.Remove(r.Context(), r.PathValue("name"), rm)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, vmToAPI(v))
}
