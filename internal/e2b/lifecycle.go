package e2b

import (
	"net/http"
	"time"
)

// kill deletes a sandbox's VM and what the E2B API kept of it.
func (s *Server) kill(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, _, err := s.sandbox(r.Context(), id); err != nil {
		failErr(w, err)
		return
	}
	if err := s.vms.Delete(r.Context(), id); err != nil {
		failErr(w, err)
		return
	}
	if s.envd != nil {
		s.envd.Forget(id)
	}
	if err := s.records.remove(id); err != nil {
		s.log.Warn("e2b: forgetting a killed sandbox", "vm", id, "err", err)
	}
	s.log.Info("e2b: sandbox killed", "vm", id)
	w.WriteHeader(http.StatusNoContent)
}

// setTimeout makes a sandbox expire timeout seconds from now, sooner or
// later than it would have.
func (s *Server) setTimeout(w http.ResponseWriter, r *http.Request) {
	var body timeoutBody
	if !decodeBody(w, r, &body, false) {
		return
	}
	if body.Timeout == nil {
		fail(w, http.StatusBadRequest, "malformed request body: timeout (seconds) is missing")
		return
	}
	timeout, err := seconds(body.Timeout, 0)
	id := r.PathValue("id")
	if err == nil {
		_, _, err = s.sandbox(r.Context(), id)
	}
	if err == nil {
		_, err = s.vms.SetExpiry(r.Context(), id, s.now().Add(timeout))
	}
	if err != nil {
		failErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pause saves a running sandbox whole and stops it; with memory false it
// only powers it off, keeping its disks. A paused one answers 409, which
// the SDK takes as "already paused".
func (s *Server) pause(w http.ResponseWriter, r *http.Request) {
	var body timeoutBody
	if !decodeBody(w, r, &body, true) {
		return
	}
	id := r.PathValue("id")
	v, _, err := s.sandbox(r.Context(), id)
	switch {
	case err != nil:
		failErr(w, err)
		return
	case stateOf(v) == "paused":
		fail(w, http.StatusConflict, "sandbox %s is already paused", id)
		return
	case body.Memory != nil && !*body.Memory:
		_, err = s.vms.Stop(r.Context(), id)
	default:
		_, err = s.vms.Suspend(r.Context(), id)
	}
	if err != nil {
		failErr(w, err)
		return
	}
	s.log.Info("e2b: sandbox paused", "vm", id)
	w.WriteHeader(http.StatusNoContent)
}

// resume (the old call) brings a paused sandbox back; a running one
// answers 409.
func (s *Server) resume(w http.ResponseWriter, r *http.Request) {
	s.bringBack(w, r, false)
}

// connect brings a paused sandbox back (201) or answers a running one
// (200), moving its expiry later, never sooner.
func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	s.bringBack(w, r, true)
}

func (s *Server) bringBack(w http.ResponseWriter, r *http.Request, connect bool) {
	var body timeoutBody
	if !decodeBody(w, r, &body, true) {
		return
	}
	def := defaultTimeoutV1
	if connect {
		def = defaultTimeout
	}
	timeout, err := seconds(body.Timeout, def)
	id := r.PathValue("id")
	var v VM
	var rec record
	if err == nil {
		v, rec, err = s.sandbox(r.Context(), id)
	}
	if err != nil {
		failErr(w, err)
		return
	}
	until := s.now().Add(timeout)
	if stateOf(v) == "running" {
		if !connect {
			fail(w, http.StatusConflict, "sandbox %s is already running", id)
			return
		}
		if v.ExpiresAt.IsZero() || v.ExpiresAt.After(until) {
			until = v.ExpiresAt
		}
		s.answerBack(w, r, id, rec, until, http.StatusOK)
		return
	}
	if body.Memory != nil && !*body.Memory {
		fail(w, http.StatusBadRequest, "resuming from disk only (memory: false) is not supported: connect without it to restore sandbox %s whole", id)
		return
	}
	if _, err := s.vms.Start(r.Context(), id); err != nil {
		failErr(w, err)
		return
	}
	s.log.Info("e2b: sandbox resumed", "vm", id)
	s.answerBack(w, r, id, rec, until, http.StatusCreated)
}

// answerBack sets sandbox id's expiry to until (a zero until leaves a
// sandbox without one as it is) and answers the sandbox.
func (s *Server) answerBack(w http.ResponseWriter, r *http.Request, id string, rec record, until time.Time, status int) {
	if !until.IsZero() {
		if _, err := s.vms.SetExpiry(r.Context(), id, until); err != nil {
			failErr(w, err)
			return
		}
	}
	rec.ID = id
	writeJSON(w, status, s.sandboxOf(r, rec))
}
