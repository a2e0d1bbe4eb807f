package server

import (
	"context"
	"net/http"
	"strconv"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/store"
	"banger/internal/vm"
)

func (s *Server) vmRoutes(mux *http.ServeMux) {
	p := api.Prefix
	mux.HandleFunc("GET "+p+"/vms", s.listVMs)
	mux.HandleFunc("GET "+p+"/vms/{name}", s.getVM)
	mux.HandleFunc("POST "+p+"/vms", s.postCreateVM)
	mux.HandleFunc("DELETE "+p+"/vms/{name}", s.deleteVM)
	mux.HandleFunc("POST "+p+"/vms/{name}/start", s.postStartVM)
	mux.HandleFunc("POST "+p+"/vms/{name}/stop", s.postStopVM)
	mux.HandleFunc("POST "+p+"/vms/{name}/restart", s.postRestartVM)
	mux.HandleFunc("POST "+p+"/vms/{name}/suspend", s.postSuspendVM)
	mux.HandleFunc("GET "+p+"/vms/{name}/ssh", s.getVMSSH)
	mux.HandleFunc("GET "+p+"/vms/{name}/logs", s.getVMLogs)
	mux.HandleFunc("PUT "+p+"/vms/{name}/network", s.putVMNetwork)
	mux.HandleFunc("PUT "+p+"/vms/{name}/labels", s.putVMLabels)
	mux.HandleFunc("PUT "+p+"/vms/{name}/expiry", s.putVMExpiry)
}

func (s *Server) getVM(w http.ResponseWriter, r *http.Request) {
	v, err := s.vms.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, vmToAPI(v))
}

func (s *Server) postCreateVM(w http.ResponseWriter, r *http.Request) {
	var req api.CreateVMRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	s.stream(w, r, func(ctx context.Context, prog progress.Func) (any, error) {
		v, err := s.vms.Create(ctx, req, prog)
		return vmToAPI(v), err
	})
}

func (s *Server) postStartVM(w http.ResponseWriter, r *http.Request) {
	s.stream(w, r, func(ctx context.Context, prog progress.Func) (any, error) {
		v, err := s.vms.Start(ctx, r.PathValue("name"), prog)
		return vmToAPI(v), err
	})
}

func (s *Server) postRestartVM(w http.ResponseWriter, r *http.Request) {
	s.stream(w, r, func(ctx context.Context, prog progress.Func) (any, error) {
		v, err := s.vms.Restart(ctx, r.PathValue("name"), prog)
		return vmToAPI(v), err
	})
}

func (s *Server) postSuspendVM(w http.ResponseWriter, r *http.Request) {
	s.stream(w, r, func(ctx context.Context, prog progress.Func) (any, error) {
		v, err := s.vms.Suspend(ctx, r.PathValue("name"), prog)
		return vmToAPI(v), err
	})
}

func (s *Server) postStopVM(w http.ResponseWriter, r *http.Request) {
	v, err := s.vms.Stop(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, vmToAPI(v))
}

func (s *Server) deleteVM(w http.ResponseWriter, r *http.Request) {
	force, _ := strconv.ParseBool(r.URL.Query().Get("force"))
	if err := s.vms.Delete(r.Context(), r.PathValue("name"), force); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) getVMSSH(w http.ResponseWriter, r *http.Request) {
	t, err := s.vms.SSHTarget(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.SSHTarget{User: t.User, Host: t.Host, Key: t.Key, KnownHosts: t.KnownHosts, Alias: t.Alias})
}

func (s *Server) putVMNetwork(w http.ResponseWriter, r *http.Request) {
	var req api.SetNetworkRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Network == "" {
		writeError(w, errdefs.InvalidArgument("no network policy: give internet, none, open or allow=LIST"))
		return
	}
	v, err := s.vms.SetNetwork(r.Context(), r.PathValue("name"), req.Network)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, vmToAPI(v))
}

func vmToAPI(v store.VM) api.VM {
	return api.VM{
		Name: v.Name, State: v.State, Image: v.Image, Kernel: v.Kernel, VMM: v.VMM,
		VCPU: v.VCPU, MemoryMiB: v.MemoryMiB, DiskBytes: v.DiskBytes, IP: v.IP,
		Accel: v.Accel, RootMode: v.RootMode, MAC: v.MAC, Network: vm.PolicyOf(v), LastError: v.LastError,
		Workspace: workspaceToAPI(v.Workspace), CreatedAt: v.CreatedAt, Ports: vm.PortsAPI(v.Ports),
		Labels: v.Labels, ExpiresAt: v.ExpiresAt,
	}
}

func workspaceToAPI(w store.Workspace) *api.WorkspaceCopy {
	if w.Top == "" {
		return nil
	}
	return &api.WorkspaceCopy{Top: w.Top, Name: w.Name, Sub: w.Sub, From: w.From, Commit: w.Commit, Branch: w.Branch}
}
