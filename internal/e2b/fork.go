package e2b

import (
	"maps"
	"net/http"
	"strings"
	"time"

	"banger/internal/errdefs"
)

// maxForks bounds the forks of one request: each is a VM.
const maxForks = 8

// fork saves a running sandbox as a snapshot, which it runs on from, and
// makes count sandboxes from it, each with the source's metadata,
// environment and network, and an access token of its own. The snapshot
// is deleted once the forks run. Each fork's result is its sandbox or its
// error.
func (s *Server) fork(w http.ResponseWriter, r *http.Request) {
	var body forkBody
	if !decodeBody(w, r, &body, true) {
		return
	}
	count := 1
	if body.Count != nil {
		count = *body.Count
	}
	timeout, err := seconds(body.Timeout, defaultTimeout)
	if err == nil && (count < 1 || count > maxForks) {
		err = errdefs.InvalidArgument("count %d: fork 1 to %d sandboxes at a time", count, maxForks)
	}
	id := r.PathValue("id")
	var v VM
	var rec record
	if err == nil {
		v, rec, err = s.sandbox(r.Context(), id)
	}
	if err == nil && v.State != StateRunning {
		err = errdefs.FailedPrecondition("sandbox %s is paused: connect to it first, then fork it", id)
	}
	if err != nil {
		failErr(w, err)
		return
	}
	snap := "e2b-fork-" + strings.TrimPrefix(newID(), "e2b-")
	if err := s.vms.Snapshot(r.Context(), id, snap); err != nil {
		failErr(w, err)
		return
	}
	defer func() {
		if err := s.vms.DeleteSnapshot(snap); err != nil {
			s.log.Warn("e2b: removing a fork's snapshot", "snapshot", snap, "err", err)
		}
	}()
	results := make([]forkResult, 0, count)
	for range count {
		results = append(results, s.forkOne(r, v, rec, snap, timeout))
	}
	writeJSON(w, http.StatusCreated, results)
}

// forkOne makes one sandbox from snapshot snap of sandbox v.
func (s *Server) forkOne(r *http.Request, v VM, src record, snap string, timeout time.Duration) forkResult {
	rec := src
	rec.ID, rec.AccessToken, rec.StartedAt = newID(), newToken(), s.now().UTC()
	if src.Template == "" {
		rec.Template = baseTemplate
	}
	spec := CreateSpec{
		Name: rec.ID, FromSnapshot: snap, Network: v.Network,
		Labels: maps.Clone(v.Labels), ExpiresAt: s.now().Add(timeout + createSlack),
	}
	_, err := s.vms.Create(r.Context(), spec)
	if err == nil {
		err = s.finishCreate(r.Context(), rec, timeout)
	}
	if err != nil {
		s.log.Warn("e2b: a fork failed", "vm", v.Name, "err", err)
		return forkResult{Error: &apiError{Code: errorStatus(err), Message: err.Error()}}
	}
	s.log.Info("e2b: sandbox forked", "vm", v.Name, "fork", rec.ID)
	sb := s.sandboxOf(r, rec)
	return forkResult{Sandbox: &sb}
}
