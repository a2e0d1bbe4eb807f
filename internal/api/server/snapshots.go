package server

import (
	"context"
	"net/http"

	"banger/internal/api"
	"banger/internal/progress"
	"banger/internal/vm"
)

func (s *Server) snapshotRoutes(mux *http.ServeMux) {
	p := api.Prefix
	mux.HandleFunc("POST "+p+"/vms/{name}/snapshot", s.postSnapshotVM)
	mux.HandleFunc("GET "+p+"/snapshots", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, convertAll(s.snaps.Snapshots(), snapshotToAPI))
	})
	mux.HandleFunc("GET "+p+"/snapshots/{name}", func(w http.ResponseWriter, r *http.Request) {
		sn, err := s.snaps.GetSnapshot(r.PathValue("name"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, snapshotToAPI(sn))
	})
	mux.HandleFunc("DELETE "+p+"/snapshots/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.snaps.DeleteSnapshot(r.PathValue("name")); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	})
}

func (s *Server) postSnapshotVM(w http.ResponseWriter, r *http.Request) {
	var req api.SnapshotVMRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	s.stream(w, r, func(ctx context.Context, prog progress.Func) (any, error) {
		sn, err := s.snaps.Snapshot(ctx, r.PathValue("name"), req.Name, prog)
		return snapshotToAPI(sn), err
	})
}

func snapshotToAPI(sn vm.SnapshotInfo) api.Snapshot {
	return api.Snapshot{
		Name: sn.Name, VM: sn.VM, Image: sn.Image, Kernel: sn.Kernel, VCPU: sn.VCPU, MemoryMiB: sn.MemoryMiB,
		DiskBytes: sn.DiskBytes, VMM: sn.VMM, Accel: sn.Accel, Bytes: sn.Bytes, CreatedAt: sn.CreatedAt,
	}
}
