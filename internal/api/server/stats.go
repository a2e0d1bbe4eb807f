package server

import (
	"net/http"

	"banger/internal/api"
	"banger/internal/vm"
)

func (g *guestAPI) statsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+api.Prefix+"/vms/{name}/stats", g.getStats)
}

// getStats measures a running VM.
func (g *guestAPI) getStats(w http.ResponseWriter, r *http.Request) {
	st, err := g.guests.Stats(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, statsToAPI(st))
}

func statsToAPI(st vm.Stats) api.VMStats {
	out := api.VMStats{
		Name: st.Name, GuestError: st.GuestError,
		VMM: api.VMMStats{
			PID: st.VMM.PID, CPUPercent: st.VMM.CPUPercent,
			RSSBytes: st.VMM.RSS, PSSBytes: st.VMM.PSS, DiskBytes: st.VMM.DiskBytes,
		},
	}
	if g := st.Guest; g != nil {
		out.Guest = &api.GuestStats{
			MemTotalBytes: g.MemTotal, MemUsedBytes: g.MemUsed(), Load: g.Load,
			UptimeSeconds: g.Uptime, Filesystems: make([]api.FSStats, 0, len(g.Filesystems)),
		}
		for _, fs := range g.Filesystems {
			out.Guest.Filesystems = append(out.Guest.Filesystems, api.FSStats{
				Path: fs.Path, TotalBytes: fs.Total, UsedBytes: fs.Used, AvailBytes: fs.Avail,
			})
		}
	}
	return out
}
