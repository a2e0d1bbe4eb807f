package server

import (
	"net/http"

	"banger/internal/api"
	"banger/internal/label"
	"banger/internal/store"
)

// listVMs lists the VMs whose labels match the query's label terms
// (see api.LabelQuery), every VM when there are none.
func (s *Server) listVMs(w http.ResponseWriter, r *http.Request) {
	sel, err := label.ParseSelector(r.URL.Query()[api.LabelQuery])
	if err != nil {
		writeError(w, err)
		return
	}
	vms, err := s.vms.List(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	var keep []store.VM
	for _, v := range vms {
		if sel.Matches(v.Labels) {
			keep = append(keep, v)
		}
	}
	writeJSON(w, http.StatusOK, convertAll(keep, vmToAPI))
}

func (s *Server) putVMLabels(w http.ResponseWriter, r *http.Request) {
	var req api.SetLabelsRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, err := s.vms.SetLabels(r.Context(), r.PathValue("name"), req.Labels)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, vmToAPI(v))
}

func (s *Server) putVMExpiry(w http.ResponseWriter, r *http.Request) {
	var req api.SetExpiryRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, err := s.vms.SetExpiry(r.Context(), r.PathValue("name"), req.ExpiresAt)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, vmToAPI(v))
}
