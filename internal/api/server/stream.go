package server

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"

	"banger/internal/api"
	"banger/internal/progress"
)

// stream runs long work for a request, sending its progress as NDJSON
// events and ending with one result or error event. The work runs under the
// request's context: a client that hangs up (Ctrl-C) cancels it.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, work func(ctx context.Context, prog progress.Func) (any, error)) {
	w.Header().Set("Content-Type", api.StreamContentType)
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	var mu sync.Mutex
	send := func(ev api.Event) {
		mu.Lock()
		defer mu.Unlock()
		b, err := json.Marshal(ev)
		if err != nil {
			return
		}
		_, _ = w.Write(append(b, '\n'))
		if flusher != nil {
			flusher.Flush()
		}
	}
	prog := progress.Func(func(e progress.Event) { send(api.Event{Progress: &e}) })
	result, err := work(r.Context(), prog)
	if err != nil {
		s.log.Warn("request failed", "path", r.URL.Path, "err", err)
		e := api.ErrorFrom(err)
		send(api.Event{Error: &e})
		return
	}
	b, err := json.Marshal(result)
	if err != nil {
		e := api.ErrorFrom(err)
		send(api.Event{Error: &e})
		return
	}
	send(api.Event{Result: b})
}
