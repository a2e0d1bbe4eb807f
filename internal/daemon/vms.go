package daemon

import (
	"context"
	"net/http"
	"os"
	"strconv"

	"banger/internal/api"
	"banger/internal/errdefs"
	"banger/internal/progress"
	"banger/internal/store"
)

func (s *server) postCreateVM(w http.ResponseWriter, r *http.Request) {
	var req api.CreateVMRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	s.stream(w, r, func(ctx context.Context, prog progress.Func) (any, error) {
		v, err := s.createVM(ctx, req, prog)
		return vmToAPI(v), err
	})
}

func (s *server) postStartVM(w http.ResponseWriter, r *http.Request) {
	s.stream(w, r, func(ctx context.Context, prog progress.Func) (any, error) {
		v, err := s.startVM(ctx, r.PathValue("name"), prog)
		return vmToAPI(v), err
	})
}

func (s *server) postRestartVM(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.stream(w, r, func(ctx context.Context, prog progress.Func) (any, error) {
		prog.Step("stopping " + name)
		if _, err := s.stopVM(ctx, name); err != nil {
			return nil, err
		}
		v, err := s.startVM(ctx, name, prog)
		return vmToAPI(v), err
	})
}

func (s *server) postStopVM(w http.ResponseWriter, r *http.Request) {
	v, err := s.stopVM(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, vmToAPI(v))
}

func (s *server) deleteVMHandler(w http.ResponseWriter, r *http.Request) {
	force, _ := strconv.ParseBool(r.URL.Query().Get("force"))
	if err := s.deleteVM(r.Context(), r.PathValue("name"), force); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *server) getVMSSH(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	v, err := s.store.GetVM(r.Context(), name)
	if err != nil {
		writeError(w, err)
		return
	}
	if v.State != stateRunning || v.IP == "" {
		writeError(w, errdefs.FailedPrecondition("VM %s is %s: start it with `banger vm start %s`", name, v.State, name))
		return
	}
	if policyOf(v) == "none" {
		writeError(w, errdefs.FailedPrecondition("VM %s has network policy none, so ssh cannot reach it: use `banger vm exec %s`, or give it a network with `banger vm network %s internet`", name, name, name))
		return
	}
	kh := s.knownHosts(name)
	if _, err := os.Stat(kh); err != nil {
		writeError(w, errdefs.FailedPrecondition("VM %s has no known ssh host keys (its guest never reported ready, or its image has no sshd): see `banger vm logs %s`", name, name))
		return
	}
	writeJSON(w, http.StatusOK, api.SSHTarget{User: "root", Host: v.IP, Key: s.sshKeyPath(), KnownHosts: kh, Alias: name})
}

func vmToAPI(v store.VM) api.VM {
	return api.VM{
		Name: v.Name, State: v.State, Image: v.Image, Kernel: v.Kernel, VMM: v.VMM,
		VCPU: v.VCPU, MemoryMiB: v.MemoryMiB, DiskBytes: v.DiskBytes, IP: v.IP,
		Accel: v.Accel, RootMode: v.RootMode, MAC: v.MAC, Network: policyOf(v), LastError: v.LastError,
		CreatedAt: v.CreatedAt,
	}
}
