package e2b

import (
	"net/http"
	"strings"

	"banger/internal/errdefs"
)

// allTraffic is E2B's "every address", the SDK's allTraffic.
const allTraffic = "0.0.0.0/0"

// E2B lists egress as allowOut over denyOut; banger's network policies
// list what is allowed. So: no internet (allow_internet_access false, or
// denyOut 0.0.0.0/0) is policy none, or allow=LIST with an allowOut list;
// allowOut alone changes nothing, as on E2B (allowed entries only win
// over denied ones); denying particular addresses has no counterpart.

// createPolicy is the network policy of a new sandbox; "" is the config's
// network_policy.
func createPolicy(allowInternet *bool, n *networkConfig) (string, error) {
	if n == nil {
		n = &networkConfig{}
	}
	return policyOf(allowInternet, *n, "")
}

// updatePolicy is the policy PUT .../network sets: it replaces the whole
// egress configuration, so an empty one lets everything out.
func updatePolicy(n networkConfig) (string, error) {
	return policyOf(n.AllowInternet, n, "internet")
}

func policyOf(allowInternet *bool, n networkConfig, open string) (string, error) {
	if len(n.Rules) > 0 || n.EgressProxy != nil {
		return "", errdefs.InvalidArgument("network rules and egressProxy are not supported by banger's E2B API: use allowOut and denyOut")
	}
	denyAll := allowInternet != nil && !*allowInternet
	for _, d := range n.DenyOut {
		if d != allTraffic {
			return "", errdefs.InvalidArgument("denyOut %q: banger denies all traffic or none; deny %s and list what may pass in allowOut", d, allTraffic)
		}
		denyAll = true
	}
	switch {
	case !denyAll:
		return open, nil
	case len(n.AllowOut) == 0:
		return "none", nil
	}
	return "allow=" + strings.Join(n.AllowOut, ","), nil
}

func (b newSandbox) networkAllow() []string {
	if b.Network == nil {
		return nil
	}
	return b.Network.AllowOut
}

func (b newSandbox) networkDeny() []string {
	if b.Network == nil {
		return nil
	}
	return b.Network.DenyOut
}

// updateNetwork replaces a running sandbox's egress rules.
func (s *Server) updateNetwork(w http.ResponseWriter, r *http.Request) {
	var body networkConfig
	if !decodeBody(w, r, &body, false) {
		return
	}
	policy, err := updatePolicy(body)
	if err != nil {
		failErr(w, err)
		return
	}
	id := r.PathValue("id")
	_, rec, err := s.sandbox(r.Context(), id)
	if err == nil {
		_, err = s.vms.SetNetwork(r.Context(), id, policy)
	}
	if err == nil && rec.ID != "" {
		rec.AllowInternet, rec.AllowOut, rec.DenyOut = body.AllowInternet, body.AllowOut, body.DenyOut
		err = s.records.put(rec)
	}
	if err != nil {
		failErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// metrics answers one sample of a running sandbox's use, none for a
// paused one.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	v, _, err := s.sandbox(r.Context(), id)
	if err != nil {
		failErr(w, err)
		return
	}
	out := []metric{}
	if v.State == StateRunning {
		st, err := s.vms.Stats(r.Context(), id)
		if err != nil {
			failErr(w, err)
			return
		}
		out = append(out, s.metricOf(v, st))
	}
	writeJSON(w, http.StatusOK, out)
}

// metricOf turns banger's figures into E2B's: CPU use as a share of the
// sandbox's vCPUs, memory and disk (of /) as the guest sees them.
func (s *Server) metricOf(v VM, st Stats) metric {
	now := s.now().UTC()
	pct := st.CPUPercent
	if v.VCPU > 0 {
		pct /= float64(v.VCPU)
	}
	return metric{
		Timestamp: now, TimestampUnix: now.Unix(), CPUCount: v.VCPU, CPUUsedPct: min(pct, 100),
		MemUsed: st.MemUsed, MemTotal: st.MemTotal, DiskUsed: st.DiskUsed, DiskTotal: st.DiskTotal,
	}
}
