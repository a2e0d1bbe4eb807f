package e2b

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"banger/internal/errdefs"
	"banger/internal/vmname"
)

// entry is one sandbox: its VM and its record (zero when lost).
type entry struct {
	vm  VM
	rec record
}

// sandbox finds sandbox id: a VM of that name marked as a sandbox.
func (s *Server) sandbox(ctx context.Context, id string) (VM, record, error) {
	if vmname.Validate(id) != nil {
		return VM{}, record{}, notFound(id)
	}
	v, err := s.vms.Get(ctx, id)
	if errdefs.KindOf(err) == errdefs.KindNotFound || (err == nil && v.Labels[LabelKey] != LabelValue) {
		return VM{}, record{}, notFound(id)
	}
	if err != nil {
		return VM{}, record{}, err
	}
	rec, _, err := s.records.get(id)
	return v, rec, err
}

// sandboxes lists every sandbox, and forgets the records of sandboxes
// whose VMs are gone.
func (s *Server) sandboxes(ctx context.Context) ([]entry, error) {
	listed := s.now()
	vms, err := s.vms.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []entry
	live := map[string]bool{}
	for _, v := range vms {
		if v.Labels[LabelKey] != LabelValue {
			continue
		}
		rec, _, err := s.records.get(v.Name)
		if err != nil {
			s.log.Warn("e2b: a sandbox's record is unreadable", "vm", v.Name, "err", err)
		}
		live[v.Name] = true
		out = append(out, entry{vm: v, rec: rec})
	}
	gone, err := s.records.prune(live, listed)
	if err != nil {
		s.log.Warn("e2b: forgetting deleted sandboxes", "err", err)
	}
	for _, id := range gone {
		if s.envd != nil {
			s.envd.Forget(id)
		}
	}
	return out, nil
}

// stateOf is a VM's state as E2B names it: running, or paused (suspended
// or stopped; connect brings it back).
func stateOf(v VM) string {
	switch v.State {
	case StateRunning, "creating", "starting":
		return "running"
	}
	return "paused"
}

func (s *Server) listedOf(e entry) listedSandbox {
	meta := maps.Clone(e.vm.Labels)
	delete(meta, LabelKey)
	if meta == nil {
		meta = map[string]string{}
	}
	started := e.rec.StartedAt
	if started.IsZero() {
		started = e.vm.CreatedAt
	}
	return listedSandbox{
		SandboxID: e.vm.Name, TemplateID: e.rec.Template, Alias: e.rec.Template, ClientID: clientID,
		StartedAt: started.UTC(), EndAt: e.vm.ExpiresAt.UTC(), State: stateOf(e.vm),
		CPUCount: e.vm.VCPU, MemoryMB: e.vm.MemoryMiB, DiskSizeMB: e.vm.DiskBytes >> 20,
		EnvdVersion: s.envdVersion, Metadata: meta, VolumeMounts: []struct{}{},
	}
}

// get answers one sandbox's details.
func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	v, rec, err := s.sandbox(r.Context(), r.PathValue("id"))
	if err != nil {
		failErr(w, err)
		return
	}
	d := sandboxDetail{
		listedSandbox: s.listedOf(entry{vm: v, rec: rec}), Domain: domainOf(r),
		EnvdAccessToken: rec.AccessToken, AllowInternet: rec.AllowInternet,
		Lifecycle: lifecycle{OnTimeout: "kill"},
	}
	if len(rec.AllowOut) > 0 || len(rec.DenyOut) > 0 {
		d.Network = &networkConfig{AllowOut: rec.AllowOut, DenyOut: rec.DenyOut}
	}
	writeJSON(w, http.StatusOK, d)
}

// listV1 answers the running sandboxes, filtered by metadata.
func (s *Server) listV1(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r.URL.Query())
	if err != nil {
		failErr(w, err)
		return
	}
	q.states = []string{"running"}
	s.list(w, r, q, false)
}

// listV2 answers the sandboxes, filtered and a page at a time.
func (s *Server) listV2(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r.URL.Query())
	if err != nil {
		failErr(w, err)
		return
	}
	s.list(w, r, q, true)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, q listQuery, paged bool) {
	all, err := s.sandboxes(r.Context())
	if err != nil {
		failErr(w, err)
		return
	}
	out := []listedSandbox{}
	for _, e := range all {
		if l := s.listedOf(e); q.match(l) {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b listedSandbox) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.SandboxID, b.SandboxID)
	})
	if !q.asc {
		slices.Reverse(out)
	}
	if paged {
		out = q.page(w, out)
	}
	writeJSON(w, http.StatusOK, out)
}

// listQuery is a list's filters and page.
type listQuery struct {
	metadata     map[string]string
	states       []string
	template     string
	startedAfter time.Time
	asc          bool
	limit, from  int
}

// maxLimit bounds a page.
const maxLimit = 1000

func parseListQuery(v url.Values) (listQuery, error) {
	q := listQuery{limit: 100, asc: v.Get("order") == "asc", template: v.Get("template")}
	var err error
	if q.metadata, err = parseMetadataQuery(v.Get("metadata")); err != nil {
		return q, err
	}
	for _, s := range v["state"] {
		for _, st := range strings.Split(s, ",") {
			if st != "running" && st != "paused" {
				return q, errdefs.InvalidArgument("state %q: use running or paused", st)
			}
			q.states = append(q.states, st)
		}
	}
	if t := v.Get("startedAfter"); t != "" {
		if q.startedAfter, err = time.Parse(time.RFC3339, t); err != nil {
			return q, errdefs.InvalidArgument("startedAfter %q is not an RFC 3339 time", t)
		}
	}
	if l := v.Get("limit"); l != "" {
		if q.limit, err = strconv.Atoi(l); err != nil || q.limit < 1 || q.limit > maxLimit {
			return q, errdefs.InvalidArgument("limit %q: give a number from 1 to %d", l, maxLimit)
		}
	}
	if t := v.Get("nextToken"); t != "" {
		if q.from, err = strconv.Atoi(t); err != nil || q.from < 0 {
			return q, errdefs.InvalidArgument("nextToken %q is not one this API gave", t)
		}
	}
	return q, nil
}

// parseMetadataQuery reads the metadata filter: "k=v&k2=v2", each key
// and value URL-encoded once more.
func parseMetadataQuery(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	pairs, err := url.ParseQuery(s)
	if err != nil {
		return nil, errdefs.InvalidArgument("metadata filter %q: %v", s, err)
	}
	out := map[string]string{}
	for k, vs := range pairs {
		key, kerr := url.QueryUnescape(k)
		val, verr := url.QueryUnescape(vs[len(vs)-1])
		if kerr != nil || verr != nil {
			return nil, errdefs.InvalidArgument("metadata filter %q is not URL-encoded key=value pairs", s)
		}
		out[key] = val
	}
	return out, nil
}

func (q listQuery) match(l listedSandbox) bool {
	for k, v := range q.metadata {
		if got, ok := l.Metadata[k]; !ok || got != v {
			return false
		}
	}
	switch {
	case len(q.states) > 0 && !slices.Contains(q.states, l.State):
		return false
	case q.template != "" && q.template != l.TemplateID:
		return false
	case !q.startedAfter.IsZero() && l.StartedAt.Before(q.startedAfter):
		return false
	}
	return true
}

// page cuts out the page asked for, and names the next one in
// X-Next-Token when there is more.
func (q listQuery) page(w http.ResponseWriter, all []listedSandbox) []listedSandbox {
	from := min(q.from, len(all))
	to := min(from+q.limit, len(all))
	if to < len(all) {
		w.Header().Set("X-Next-Token", strconv.Itoa(to))
	}
	return all[from:to]
}
